"""What one model turn asked of the retrieve tool, and what goes back: shared by the wire modules.

`Call` is one retrieve call the model made, `Answer` the proxy's tool result for it, `Outcome` how a
round ended. `sum_usage` adds the usage objects of several rounds, whatever the wire's field names;
`with_appended_tool` adds a tool to a request unless it already has one of that name.
Knows no wire format and no HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import msgspec

_decode = msgspec.json.Decoder().decode
encode = msgspec.json.Encoder().encode


@dataclass(frozen=True, slots=True)
class Call:
    """One retrieve call: its wire id and its arguments (None when they were not a JSON object)."""

    call_id: str
    arguments: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class Answer:
    """The tool result for one call: the retrieved text, or an error written for the model."""

    call_id: str
    text: str
    is_error: bool = False


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one round ended. `turn` is the model's turn as the wire sends it back in a continuation
    (Anthropic content blocks, an OpenAI chat message, Responses output items)."""

    calls: tuple[Call, ...] = ()
    has_client_calls: bool = False   # the model also called a tool of the client's in this turn
    can_continue: bool = False       # the turn ended normally, waiting for tool results
    turn: Any = None
    usage: dict[str, Any] = field(default_factory=dict)


def parse_arguments(raw: Any) -> dict[str, Any] | None:
    """Tool arguments as an object: OpenAI sends a JSON string, Anthropic an object."""
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str):
        try:
            value = _decode(raw) if raw.strip() else {}
        except msgspec.DecodeError:
            return None
        return value if isinstance(value, dict) else None
    return None


def top_level_name(tool: Any) -> Any:
    """A tool definition's `name` (Anthropic, Responses), or None when it is not an object."""
    return tool.get("name") if isinstance(tool, dict) else None


def with_appended_tool(body: dict[str, Any], tool: dict[str, Any], name_of: Callable[[Any], Any] = top_level_name) -> dict[str, Any] | None:
    """`body` with `tool` appended to its `tools`, or None when `tools` is not a list or already
    holds a tool of that name (`name_of` reads a tool definition's name).

    >>> with_appended_tool({"tools": [{"name": "a"}]}, {"name": "b"})
    {'tools': [{'name': 'a'}, {'name': 'b'}]}
    >>> with_appended_tool({"tools": [{"name": "b"}]}, {"name": "b"}) is None
    True
    """
    tools = body.get("tools", [])
    name = name_of(tool)
    if not isinstance(tools, list) or any(name_of(t) == name for t in tools):
        return None
    return {**body, "tools": [*tools, tool]}


def decode(data: bytes) -> Any:
    """JSON bytes as plain values, or None when they are not JSON."""
    try:
        return _decode(data)
    except msgspec.DecodeError:
        return None


def sum_usage(usages: list[dict[str, Any]]) -> dict[str, Any]:
    """Add usage objects field by field (nested objects too); other values: the last one wins.

    >>> sum_usage([{"input_tokens": 3, "details": {"cached": 1}, "tier": "a"}, {"input_tokens": 4, "details": {"cached": 2}, "tier": "b"}])
    {'input_tokens': 7, 'details': {'cached': 3}, 'tier': 'b'}
    """
    out: dict[str, Any] = {}
    for usage in usages:
        for key, value in usage.items():
            have = out.get(key)
            if _is_count(value) and (have is None or _is_count(have)):
                out[key] = (have or 0) + value
            elif isinstance(value, dict) and (have is None or isinstance(have, dict)):
                out[key] = sum_usage([have or {}, value])
            elif value is not None or key not in out:
                out[key] = value
    return out


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def sse(data: Any, name: str | None = None) -> bytes:
    """One SSE event, with its `event:` line when the wire names its events."""
    head = b"event: " + name.encode() + b"\n" if name else b""
    return head + b"data: " + encode(data) + b"\n\n"
