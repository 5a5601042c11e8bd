"""Gemini generateContent adapter: body -> segments -> body. Knows the wire, nothing of compression.

A functionResponse carries a JSON object; its top-level string values are the tool's text output.
"""

from __future__ import annotations

from typing import Any

from .._types import Path
from ..result import Source
from ..segment import Segment
from ._walk import args_text, expect_body, expect_dict, expect_list, messages, splice

__all__ = ["segments", "splice"]


def segments(body: Any) -> list[Segment]:
    """Every text of a generateContent body, in order; raises InvalidRequest on a malformed one."""
    body = expect_body(body, "contents", "a Gemini generateContent", ("messages", "input"))
    out: list[Segment] = []
    system = body.get("systemInstruction", body.get("system_instruction"))
    key = "systemInstruction" if "systemInstruction" in body else "system_instruction"
    if isinstance(system, dict):
        out.extend(_parts(system, (key,), Source.SYSTEM, 0, {}))
    calls: dict[str, list[str]] = {}
    turn = 0
    for path, content, role in messages(body, "contents", default_role="user"):
        source = Source.ASSISTANT_TEXT if role == "model" else Source.USER_TEXT
        out.extend(_parts(content, path, source, turn, calls))
        if role == "model":
            turn += 1
    return out


def _parts(content: dict[str, Any], path: Path, source: Source, turn: int, calls: dict[str, list[str]]) -> list[Segment]:
    parts = content.get("parts")
    if parts is None:
        return []
    out = []
    for j, part in enumerate(expect_list(parts, path + ("parts",))):
        where = path + ("parts", j)
        part = expect_dict(part, where, "a part (an object)")
        if isinstance(part.get("text"), str) and not part.get("thought"):
            out.append(Segment(where + ("text",), part["text"], source, turn))
        call = part.get("functionCall")
        if isinstance(call, dict) and isinstance(call.get("name"), str):
            args = args_text(call.get("args", {}))
            calls.setdefault(call["name"], []).append(args)
            out.append(Segment(where + ("functionCall", "args"), args, Source.TOOL_CALL, turn, call["name"], args, call.get("id")))
        response = part.get("functionResponse")
        if isinstance(response, dict):
            out.extend(_response(response, where + ("functionResponse",), turn, calls))
    return out


def _response(response: dict[str, Any], where: Path, turn: int, calls: dict[str, list[str]]) -> list[Segment]:
    name = response.get("name") if isinstance(response.get("name"), str) else None
    # Gemini pairs a response with the oldest unanswered call of the same name.
    pending = calls.get(name or "", [])
    args = pending.pop(0) if pending else None
    payload = response.get("response")
    if not isinstance(payload, dict):
        return []
    return [
        Segment(where + ("response", key), value, Source.TOOL_RESULT, turn, name, args, response.get("id"))
        for key, value in payload.items()
        if isinstance(value, str)
    ]
