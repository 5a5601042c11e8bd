"""OpenAI Chat Completions: the retrieve tool in a request, retrieve calls in a completion, the
continuation, and the stream editor that hides the calls and renumbers tool_call indices."""

from __future__ import annotations

from typing import Any

from headroom_core import RETRIEVE_TOOL_NAME, Wire, retrieve_tool

from ..usage import event_data
from .turn import Answer, Call, Outcome, decode, parse_arguments, sse, sum_usage, with_appended_tool

_TOOL = retrieve_tool(Wire.OPENAI_CHAT)
_DONE = b"data: [DONE]\n\n"


def _tool_name(tool: Any) -> Any:
    if not isinstance(tool, dict):
        return None
    inner = tool.get(tool.get("type") or "function")
    return inner.get("name") if isinstance(inner, dict) else tool.get("name")


def with_tool(body: dict[str, Any]) -> dict[str, Any] | None:
    """`body` with the retrieve tool appended to `tools`, or None when it must not be added: the
    legacy `functions` field cannot be mixed with `tools`, and only choice 0 is ever continued."""
    if "functions" in body or body.get("n", 1) not in (1, None) or body.get("tool_choice") == "none":
        return None
    return with_appended_tool(body, _TOOL, _tool_name)


def _is_retrieve(call: Any) -> bool:
    return isinstance(call, dict) and (call.get("function") or {}).get("name") == RETRIEVE_TOOL_NAME


def outcome(completion: dict[str, Any]) -> Outcome:
    choices = completion.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message") or {}
    tool_calls = [c for c in message.get("tool_calls") or () if isinstance(c, dict)]
    calls = tuple(Call(str(c.get("id")), parse_arguments((c.get("function") or {}).get("arguments"))) for c in tool_calls if _is_retrieve(c))
    has_client = any(not _is_retrieve(c) for c in tool_calls)
    turn = {"role": "assistant", "content": message.get("content"), "tool_calls": tool_calls}
    usage = completion.get("usage")
    return Outcome(calls, has_client, choice.get("finish_reason") == "tool_calls", turn, usage if isinstance(usage, dict) else {})


def continuation(body: dict[str, Any], done: Outcome, answers: list[Answer], *, is_last: bool) -> dict[str, Any]:
    results = [{"role": "tool", "tool_call_id": a.call_id, "content": a.text} for a in answers]
    out = {**body, "messages": [*body.get("messages", []), done.turn, *results]}
    if is_last:
        out["tool_choice"] = "none"
    return out


def merged(completions: list[dict[str, Any]]) -> dict[str, Any]:
    """The last round's completion with every round's text, the client's tool calls only, and the
    summed usage. A turn left with no tool call for the client finishes as `stop`."""
    last = completions[-1]
    choice = dict((last.get("choices") or [{}])[0])
    message = dict(choice.get("message") or {})
    texts = [t for c in completions if isinstance(t := ((c.get("choices") or [{}])[0].get("message") or {}).get("content"), str)]
    if len(completions) > 1 and texts:
        message["content"] = "".join(texts)
    calls = [c for c in message.get("tool_calls") or () if not _is_retrieve(c)]
    if "tool_calls" in message:
        if calls:
            message["tool_calls"] = calls
        else:
            del message["tool_calls"]
    if choice.get("finish_reason") == "tool_calls" and not calls:
        choice["finish_reason"] = "stop"
    choice["message"] = message
    out = {**last, "choices": [choice]}
    if len(completions) > 1:
        out["usage"] = sum_usage([c.get("usage") or {} for c in completions])
    return out


class Editor:
    """Edits a chat completion stream round by round: retrieve tool_call deltas held back, the
    client's tool calls renumbered, later rounds' chunks given the first round's id, and one
    finish chunk, one usage chunk and one [DONE] at the end."""

    def __init__(self) -> None:
        self.round = 0
        self.next_index = 0
        self.identity: dict[str, Any] = {}
        self.usages: list[dict[str, Any]] = []
        self.has_client_calls = False
        self._reset()

    def _reset(self) -> None:
        self.indexes: dict[int, int | None] = {}
        self.content: str | None = None
        self.tool_calls: dict[int, dict[str, Any]] = {}
        self.finish_chunk: dict[str, Any] | None = None
        self.usage_chunk: dict[str, Any] | None = None
        self.finish_event = self.usage_event = b""
        self.is_done = False
        self.is_edited = self.round > 0

    def feed(self, event: bytes) -> bytes:
        data = event_data(event)
        if data.strip() == b"[DONE]":
            self.is_done = True
            return b""
        payload = decode(data) if data else None
        if not isinstance(payload, dict) or "choices" not in payload:
            return event  # an error chunk, a comment: passed on
        if self.round == 0 and not self.identity:
            self.identity = {k: payload[k] for k in ("id", "created") if k in payload}
        if payload.get("choices") == []:
            self.usage_chunk, self.usage_event = payload, event
            return b""
        choice = payload["choices"][0] if isinstance(payload["choices"][0], dict) else {}
        delta = dict(choice.get("delta") or {})
        self._accumulate(delta)
        is_finishing = choice.get("finish_reason") is not None
        if is_finishing:
            self.finish_chunk, self.finish_event = payload, event
            if not delta:
                return b""
            self.is_edited = True  # its delta goes now, its finish_reason with the end of the stream
            choice = {**choice, "finish_reason": None}
        edited = self._edited(delta)
        if edited is None and not is_finishing and self.round == 0:
            return event
        edited = delta if edited is None else edited
        if not edited:
            return b""
        self.is_edited = True
        return sse({**payload, **self.identity, "choices": [{**choice, "delta": edited}]})

    def _accumulate(self, delta: dict[str, Any]) -> None:
        if isinstance(delta.get("content"), str):
            self.content = (self.content or "") + delta["content"]
        for call in delta.get("tool_calls") or ():
            index = call.get("index")
            if not isinstance(index, int):
                continue
            whole = self.tool_calls.setdefault(index, {"id": None, "type": "function", "function": {"name": "", "arguments": ""}})
            function = call.get("function") or {}
            if call.get("id"):
                whole["id"] = call["id"]
            if function.get("name"):
                whole["function"]["name"] = function["name"]
            whole["function"]["arguments"] += function.get("arguments") or ""
            if index not in self.indexes:
                if _is_retrieve(whole):
                    self.indexes[index] = None
                else:
                    self.indexes[index] = self.next_index
                    self.next_index += 1
                    self.has_client_calls = True

    def _edited(self, delta: dict[str, Any]) -> dict[str, Any] | None:
        """The delta as the client must see it, or None when it goes unchanged."""
        calls = delta.get("tool_calls")
        changed = self.round > 0 and "role" in delta
        kept: list[dict[str, Any]] = []
        for call in calls or ():
            client = self.indexes.get(call.get("index")) if isinstance(call, dict) else None
            if client is None:
                changed = True
            else:
                changed = changed or client != call.get("index")
                kept.append({**call, "index": client})
        if not changed:
            return None
        out = {k: v for k, v in delta.items() if not (k == "role" and self.round > 0) and k != "tool_calls"}
        if kept:
            out["tool_calls"] = kept
        return out

    def end_round(self) -> Outcome:
        if not self.is_done or self.finish_chunk is None:
            return Outcome()
        if self.usage_chunk is not None:
            self.usages.append(self.usage_chunk.get("usage") or {})
        calls = [self.tool_calls[i] for i in sorted(self.tool_calls)]
        turn = {"role": "assistant", "content": self.content, "tool_calls": calls}
        choice = self.finish_chunk["choices"][0]
        has_client = any(not _is_retrieve(c) for c in calls)
        retrieves = tuple(Call(str(c["id"]), parse_arguments(c["function"]["arguments"])) for c in calls if _is_retrieve(c))
        return Outcome(retrieves, has_client, choice.get("finish_reason") == "tool_calls", turn)

    def next_round(self) -> None:
        self.round += 1
        self._reset()

    def finish(self) -> bytes:
        """The held end of the stream: the finish chunk, the usage chunk (summed over the rounds)
        and [DONE]; the upstream's own bytes when nothing was edited."""
        out = b""
        if self.finish_chunk is not None:
            if not self.is_edited:
                out += self.finish_event
            else:
                choice = dict(self.finish_chunk["choices"][0])
                if choice.get("finish_reason") == "tool_calls" and not any(c is not None for c in self.indexes.values()):
                    choice["finish_reason"] = "stop"
                choice["delta"] = {}
                out += sse({**self.finish_chunk, **self.identity, "choices": [choice]})
        if self.usage_chunk is not None:
            if self.round == 0:
                out += self.usage_event
            else:
                out += sse({**self.usage_chunk, **self.identity, "usage": sum_usage(self.usages)})
        return out + (_DONE if self.is_done else b"")
