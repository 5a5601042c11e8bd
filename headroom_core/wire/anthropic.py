"""Anthropic Messages adapter: body -> segments -> body. Knows the wire, nothing of compression."""

from __future__ import annotations

from typing import Any

from .._types import Path
from ..errors import InvalidRequest
from ..result import Source
from ..segment import Segment
from ._walk import args_text, expect_body, expect_dict, expect_list, messages, splice

__all__ = ["segments", "splice"]

_FOREIGN_KEYS = ("input", "contents")


def segments(body: Any) -> list[Segment]:
    """Every text of an Anthropic Messages body, in order; raises InvalidRequest on a malformed one."""
    body = expect_body(body, "messages", "an Anthropic Messages", _FOREIGN_KEYS)
    out: list[Segment] = []
    system = body.get("system")
    if isinstance(system, str):
        out.append(Segment(("system",), system, Source.SYSTEM, 0))
    elif isinstance(system, list):
        out.extend(_text_blocks(system, ("system",), Source.SYSTEM, 0))
    elif system is not None:
        raise InvalidRequest(("system",), "a string or an array of blocks", system)

    calls: dict[str, tuple[str | None, str]] = {}
    turn = 0
    for path, message, role in messages(body, "messages"):
        if role == "assistant":
            out.extend(_assistant(message, path, turn, calls))
            turn += 1
        elif role == "user":
            out.extend(_user(message, path, turn, calls))
        elif role == "system":
            # Claude Code puts role "system" items inside messages (beta mid-conversation-system).
            content = message.get("content")
            if isinstance(content, str):
                out.append(Segment(path + ("content",), content, Source.SYSTEM, turn))
            elif isinstance(content, list):
                out.extend(_text_blocks(content, path + ("content",), Source.SYSTEM, turn))
        # Unknown roles pass through untouched.
    return out


def _blocks(message: dict[str, Any], path: Path) -> list[dict[str, Any]] | None:
    content = message.get("content")
    if isinstance(content, str) or content is None:
        return None
    blocks = expect_list(content, path + ("content",), "a string or an array of blocks")
    for j, block in enumerate(blocks):
        expect_dict(block, path + ("content", j), "a block (an object)")
    return blocks


def _text_blocks(blocks: list[Any], path: Path, source: Source, turn: int) -> list[Segment]:
    out = []
    for j, block in enumerate(blocks):
        block = expect_dict(block, path + (j,), "a block (an object)")
        if block.get("type") == "text" and isinstance(block.get("text"), str):
            out.append(Segment(path + (j, "text"), block["text"], source, turn))
    return out


def _assistant(message: dict[str, Any], path: Path, turn: int, calls: dict[str, tuple[str | None, str]]) -> list[Segment]:
    content = message.get("content")
    if isinstance(content, str):
        return [Segment(path + ("content",), content, Source.ASSISTANT_TEXT, turn)]
    out = []
    for j, block in enumerate(_blocks(message, path) or ()):
        kind = block.get("type")
        where = path + ("content", j)
        if kind == "text" and isinstance(block.get("text"), str):
            out.append(Segment(where + ("text",), block["text"], Source.ASSISTANT_TEXT, turn))
        elif kind == "tool_use":
            name, args = block.get("name"), args_text(block.get("input", {}))
            if isinstance(block.get("id"), str):
                calls[block["id"]] = (name if isinstance(name, str) else None, args)
            out.append(Segment(where + ("input",), args, Source.TOOL_CALL, turn, name, args, block.get("id")))
        # thinking, redacted_thinking, server tool blocks and unknown blocks are never segments.
    return out


def _user(message: dict[str, Any], path: Path, turn: int, calls: dict[str, tuple[str | None, str]]) -> list[Segment]:
    content = message.get("content")
    if isinstance(content, str):
        return [Segment(path + ("content",), content, Source.USER_TEXT, turn)]
    out = []
    for j, block in enumerate(_blocks(message, path) or ()):
        kind = block.get("type")
        where = path + ("content", j)
        if kind == "text" and isinstance(block.get("text"), str):
            out.append(Segment(where + ("text",), block["text"], Source.USER_TEXT, turn))
        elif kind == "tool_result":
            out.extend(_tool_result(block, where, turn, calls))
    return out


def _tool_result(block: dict[str, Any], where: Path, turn: int, calls: dict[str, tuple[str | None, str]]) -> list[Segment]:
    call_id = block.get("tool_use_id")
    name, args = calls.get(call_id, (None, None)) if isinstance(call_id, str) else (None, None)
    is_error = block.get("is_error") is True
    content = block.get("content")
    if isinstance(content, str):
        return [Segment(where + ("content",), content, Source.TOOL_RESULT, turn, name, args, call_id, is_error)]
    out = []
    if isinstance(content, list):
        for k, inner in enumerate(content):
            inner = expect_dict(inner, where + ("content", k), "a block (an object)")
            if inner.get("type") == "text" and isinstance(inner.get("text"), str):
                out.append(
                    Segment(where + ("content", k, "text"), inner["text"], Source.TOOL_RESULT, turn, name, args, call_id, is_error)
                )
    elif content is not None:
        raise InvalidRequest(where + ("content",), "a string or an array of blocks", content)
    return out
