"""OpenAI Responses adapter: body -> segments -> body. Knows the wire, nothing of compression.

`input` is a string or a list of items. Items the model produced (assistant messages, reasoning,
function and custom tool calls, built-in tool calls) open a new turn; `*_output` items are tool
results paired to their call by `call_id`. Codex sends extra tools as input items; like every item
this adapter does not know, they pass through untouched.
"""

from __future__ import annotations

from typing import Any

from .._types import Path
from ..result import Source
from ..segment import Segment
from ._walk import args_text, expect_body, expect_dict, expect_list, expect_role, splice

__all__ = ["segments", "splice"]

_ROLE_SOURCES = {
    "system": Source.SYSTEM,
    "developer": Source.SYSTEM,
    "user": Source.USER_TEXT,
    "assistant": Source.ASSISTANT_TEXT,
}
_TEXT_PARTS = frozenset({"input_text", "output_text", "text"})


def segments(body: Any) -> list[Segment]:
    """Every text of a Responses body, in order; raises InvalidRequest on a malformed one."""
    body = expect_body(body, "input", "an OpenAI Responses", ("messages", "contents"))
    out: list[Segment] = []
    if isinstance(body.get("instructions"), str):
        out.append(Segment(("instructions",), body["instructions"], Source.SYSTEM, 0))
    items = body["input"]
    if isinstance(items, str):
        out.append(Segment(("input",), items, Source.USER_TEXT, 0))
        return out
    calls: dict[str, tuple[str | None, str]] = {}
    turn = 0
    in_model_run = False
    for i, item in enumerate(expect_list(items, ("input",), "a string or an array of items")):
        path: Path = ("input", i)
        item = expect_dict(item, path, "an input item (an object)")
        by_model = _is_model_output(item)
        if by_model and not in_model_run:
            turn += 1
        in_model_run = by_model
        # A model item belongs to the turn it opens; everything before it to the turn before.
        at = turn - 1 if by_model else turn
        out.extend(_item(item, path, at, calls))
    return out


def _is_model_output(item: dict[str, Any]) -> bool:
    kind = item.get("type")
    if kind in (None, "message"):
        return item.get("role") == "assistant"
    return isinstance(kind, str) and (kind == "reasoning" or kind.endswith("_call"))


def _item(item: dict[str, Any], path: Path, turn: int, calls: dict[str, tuple[str | None, str]]) -> list[Segment]:
    kind = item.get("type")
    if kind in (None, "message"):
        role = expect_role(item, path)
        source = _ROLE_SOURCES.get(role)
        return _texts(item.get("content"), path + ("content",), source, turn) if source else []
    if kind in ("function_call", "custom_tool_call"):
        field = "arguments" if kind == "function_call" else "input"
        name = item.get("name") if isinstance(item.get("name"), str) else None
        args = args_text(item.get(field, ""))
        call_id = item.get("call_id")
        if isinstance(call_id, str):
            calls[call_id] = (name, args)
        return [Segment(path + (field,), args, Source.TOOL_CALL, turn, name, args, call_id)]
    if isinstance(kind, str) and kind.endswith("_call_output"):
        call_id = item.get("call_id")
        name, args = calls.get(call_id, (None, None)) if isinstance(call_id, str) else (None, None)
        return _texts(item.get("output"), path + ("output",), Source.TOOL_RESULT, turn, name, args, call_id)
    return []  # reasoning (encrypted), built-in tool calls, additional tools, unknown items


def _texts(
    value: Any, path: Path, source: Source, turn: int, name: str | None = None, args: str | None = None, call_id: str | None = None
) -> list[Segment]:
    if isinstance(value, str):
        return [Segment(path, value, source, turn, name, args, call_id)]
    if not isinstance(value, list):
        return []
    out = []
    for j, part in enumerate(value):
        part = expect_dict(part, path + (j,), "a content part (an object)")
        if part.get("type") in _TEXT_PARTS and isinstance(part.get("text"), str):
            out.append(Segment(path + (j, "text"), part["text"], source, turn, name, args, call_id))
    return out
