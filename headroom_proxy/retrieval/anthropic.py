"""Anthropic Messages: the retrieve tool in a request, retrieve calls in a response, the continuation,
and the stream editor that hides the calls and renumbers content blocks across rounds."""

from __future__ import annotations

from typing import Any

from headroom_core import RETRIEVE_TOOL_NAME, Wire, retrieve_tool

from ..usage import event_data
from .turn import Answer, Call, Outcome, decode, parse_arguments, sse, sum_usage, with_appended_tool

_TOOL = retrieve_tool(Wire.ANTHROPIC)
_INPUT_KEYS = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")


def with_tool(body: dict[str, Any]) -> dict[str, Any] | None:
    """`body` with the retrieve tool appended to `tools`, or None when it must not be added."""
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "none":
        return None
    return with_appended_tool(body, _TOOL)


def _is_retrieve(block: Any) -> bool:
    return isinstance(block, dict) and block.get("type") == "tool_use" and block.get("name") == RETRIEVE_TOOL_NAME


def outcome(message: dict[str, Any]) -> Outcome:
    content = [b for b in message.get("content") or () if isinstance(b, dict)]
    calls = tuple(Call(str(b.get("id")), parse_arguments(b.get("input"))) for b in content if _is_retrieve(b))
    has_client = any(b.get("type") == "tool_use" and not _is_retrieve(b) for b in content)
    usage = message.get("usage")
    return Outcome(calls, has_client, message.get("stop_reason") == "tool_use", content, usage if isinstance(usage, dict) else {})


def continuation(body: dict[str, Any], done: Outcome, answers: list[Answer], *, is_last: bool) -> dict[str, Any]:
    """The next request: the model's turn and the tool results appended (Anthropic merges a
    trailing assistant prefill with the turn). The last allowed round forbids further tool calls."""
    results = [
        {"type": "tool_result", "tool_use_id": a.call_id, "content": a.text, **({"is_error": True} if a.is_error else {})}
        for a in answers
    ]
    messages = [*body.get("messages", []), {"role": "assistant", "content": done.turn}, {"role": "user", "content": results}]
    out = {**body, "messages": messages}
    if is_last:
        out["tool_choice"] = {"type": "none"}
    return out


def merged(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The client's response: the last round's message with every round's visible content and the
    summed usage. A turn left with no tool call for the client ends as end_turn."""
    content = [b for m in messages for b in m.get("content") or () if not _is_retrieve(b)]
    out = {**messages[-1], "content": content}
    if len(messages) > 1:
        out["usage"] = sum_usage([m.get("usage") or {} for m in messages])
    if out.get("stop_reason") == "tool_use" and not any(isinstance(b, dict) and b.get("type") == "tool_use" for b in content):
        out["stop_reason"] = "end_turn"
    return out


class Editor:
    """Edits an Anthropic event stream round by round: one message_start (the first round's), the
    retrieve tool_use blocks held back, every other block renumbered in client order, and one
    message_delta and message_stop at the end with the usage of all rounds."""

    def __init__(self) -> None:
        self.round = 0
        self.next_index = 0
        self.usages: list[dict[str, Any]] = []
        self._reset()

    def _reset(self) -> None:
        self.indexes: dict[int, int | None] = {}   # upstream index -> client index (None: held)
        self.blocks: dict[int, dict[str, Any]] = {}
        self.partial: dict[int, str] = {}
        self.start_usage: dict[str, Any] = {}
        self.delta: dict[str, Any] | None = None
        self.held: list[bytes] = []                 # the round's message_delta and message_stop
        self.is_edited = self.round > 0

    def feed(self, event: bytes) -> bytes:
        data = event_data(event)
        payload = decode(data) if data else None
        if not isinstance(payload, dict):
            return event
        kind = payload.get("type")
        if kind == "message_start":
            message = payload.get("message") or {}
            self.start_usage = dict(message.get("usage") or {})
            return event if self.round == 0 else b""
        if kind == "content_block_start":
            return self._start(event, payload)
        if kind in ("content_block_delta", "content_block_stop"):
            return self._block_event(event, payload, kind)
        if kind == "message_delta":
            self.delta = payload
            self.held.append(event)
            return b""
        if kind == "message_stop":
            self.held.append(event)
            return b""
        return event  # ping, error, and whatever comes later: passed on as they are

    def _start(self, event: bytes, payload: dict[str, Any]) -> bytes:
        index = payload.get("index")
        block = payload.get("content_block")
        if not isinstance(index, int) or not isinstance(block, dict):
            return event
        self.blocks[index] = dict(block)
        if _is_retrieve(block):
            self.indexes[index] = None
            self.is_edited = True
            return b""
        self.indexes[index] = self.next_index
        self.next_index += 1
        return self._renumbered(event, payload, index)

    def _block_event(self, event: bytes, payload: dict[str, Any], kind: str) -> bytes:
        index = payload.get("index")
        if not isinstance(index, int) or index not in self.indexes:
            return event
        if kind == "content_block_delta":
            self._accumulate(index, payload.get("delta") or {})
        else:
            self._close(index)
        if self.indexes[index] is None:
            return b""
        return self._renumbered(event, payload, index)

    def _renumbered(self, event: bytes, payload: dict[str, Any], index: int) -> bytes:
        client = self.indexes[index]
        if client == index:
            return event
        self.is_edited = True
        return sse({**payload, "index": client}, str(payload["type"]))

    def _accumulate(self, index: int, delta: dict[str, Any]) -> None:
        """Rebuild the block as the model wrote it, for the continuation's assistant turn."""
        block = self.blocks[index]
        kind = delta.get("type")
        if kind == "text_delta":
            block["text"] = block.get("text", "") + delta.get("text", "")
        elif kind == "thinking_delta":
            block["thinking"] = block.get("thinking", "") + delta.get("thinking", "")
        elif kind == "signature_delta":
            block["signature"] = delta.get("signature", "")
        elif kind == "input_json_delta":
            self.partial[index] = self.partial.get(index, "") + delta.get("partial_json", "")
        elif kind == "citations_delta":
            block["citations"] = [*(block.get("citations") or []), delta.get("citation")]

    def _close(self, index: int) -> None:
        if index in self.partial:
            self.blocks[index]["input"] = parse_arguments(self.partial.pop(index)) or {}

    def end_round(self) -> Outcome:
        if self.delta is None:  # the stream ended without its message_delta: nothing to continue
            return Outcome()
        usage = {**self.start_usage, **{k: v for k, v in (self.delta.get("usage") or {}).items() if v is not None}}
        self.usages.append(usage)
        message = {"content": [self.blocks[i] for i in sorted(self.blocks)], "stop_reason": (self.delta.get("delta") or {}).get("stop_reason")}
        return outcome(message)

    def next_round(self) -> None:
        self.round += 1
        self._reset()

    def finish(self) -> bytes:
        """The held end of the stream, with the summed usage when rounds were hidden."""
        if not self.is_edited or self.delta is None:
            return b"".join(self.held)
        delta = dict(self.delta)
        if self.round > 0:
            usage = dict(delta.get("usage") or {})
            summed = sum_usage(self.usages)
            usage.update({k: v for k, v in summed.items() if k in usage or k in _INPUT_KEYS or k == "output_tokens"})
            delta["usage"] = usage
        has_tool_use = any(b.get("type") == "tool_use" and not _is_retrieve(b) for b in self.blocks.values())
        inner = delta.get("delta") or {}
        if inner.get("stop_reason") == "tool_use" and not has_tool_use:
            delta["delta"] = {**inner, "stop_reason": "end_turn"}
        return sse(delta, "message_delta") + sse({"type": "message_stop"}, "message_stop")
