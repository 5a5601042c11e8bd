"""OpenAI Chat Completions adapter: body -> segments -> body. Knows the wire, nothing of compression."""

from __future__ import annotations

from typing import Any

from .._types import Path
from ..result import Source
from ..segment import Segment
from ._walk import args_text, expect_body, expect_dict, expect_list, messages, splice

__all__ = ["segments", "splice"]

_SOURCES = {
    "system": Source.SYSTEM,
    "developer": Source.SYSTEM,
    "user": Source.USER_TEXT,
    "assistant": Source.ASSISTANT_TEXT,
    "tool": Source.TOOL_RESULT,
    "function": Source.TOOL_RESULT,  # the legacy function-calling role
}


def segments(body: Any) -> list[Segment]:
    """Every text of a Chat Completions body, in order; raises InvalidRequest on a malformed one."""
    body = expect_body(body, "messages", "an OpenAI Chat Completions", ("input", "contents"))
    out: list[Segment] = []
    calls: dict[str, tuple[str | None, str]] = {}
    turn = 0
    for path, message, role in messages(body, "messages"):
        source = _SOURCES.get(role)
        if source is None:
            continue  # unknown roles pass through untouched
        name = args = call_id = None
        if role == "tool":
            call_id = message.get("tool_call_id")
            name, args = calls.get(call_id, (None, None)) if isinstance(call_id, str) else (None, None)
        elif role == "function":
            name = message.get("name") if isinstance(message.get("name"), str) else None
            args = calls.get(f"function:{name}", (None, None))[1]
        out.extend(_content(message, path, source, turn, name, args, call_id))
        if role == "assistant":
            out.extend(_calls(message, path, turn, calls))
            turn += 1
    return out


def _content(
    message: dict[str, Any], path: Path, source: Source, turn: int, name: str | None, args: str | None, call_id: str | None
) -> list[Segment]:
    content = message.get("content")
    if isinstance(content, str):
        return [Segment(path + ("content",), content, source, turn, name, args, call_id)]
    if content is None:
        return []
    out = []
    for j, part in enumerate(expect_list(content, path + ("content",), "a string or an array of parts")):
        part = expect_dict(part, path + ("content", j), "a content part (an object)")
        if part.get("type") == "text" and isinstance(part.get("text"), str):
            out.append(Segment(path + ("content", j, "text"), part["text"], source, turn, name, args, call_id))
    return out


def _calls(message: dict[str, Any], path: Path, turn: int, calls: dict[str, tuple[str | None, str]]) -> list[Segment]:
    out = []
    for k, call in enumerate(message.get("tool_calls") or ()):
        where = path + ("tool_calls", k)
        call = expect_dict(call, where, "a tool call (an object)")
        function = call.get("function") if isinstance(call.get("function"), dict) else {}
        name = function.get("name") if isinstance(function.get("name"), str) else None
        args = args_text(function.get("arguments", ""))
        if isinstance(call.get("id"), str):
            calls[call["id"]] = (name, args)
        out.append(Segment(where + ("function", "arguments"), args, Source.TOOL_CALL, turn, name, args, call.get("id")))
    legacy = message.get("function_call")
    if isinstance(legacy, dict) and isinstance(legacy.get("name"), str):
        args = args_text(legacy.get("arguments", ""))
        calls[f"function:{legacy['name']}"] = (legacy["name"], args)
        out.append(Segment(path + ("function_call", "arguments"), args, Source.TOOL_CALL, turn, legacy["name"], args))
    return out
