"""OpenAI Responses: the retrieve tool in a request, retrieve calls in a response's output, the
continuation, and the stream editor that hides the calls and renumbers output_index and
sequence_number across rounds."""

from __future__ import annotations

from typing import Any

from headroom_core import RETRIEVE_TOOL_NAME, Wire, retrieve_tool

from ..usage import event_data
from .turn import Answer, Call, Outcome, decode, parse_arguments, sse, sum_usage, with_appended_tool

_TOOL = retrieve_tool(Wire.OPENAI_RESPONSES)
# Output items the client must act on (the provider runs web search, code interpreter, ... itself).
CLIENT_CALLS = frozenset(
    {"function_call", "custom_tool_call", "local_shell_call", "shell_call", "apply_patch_call", "computer_call", "mcp_approval_request"}
)
_OPENING = frozenset({"response.created", "response.in_progress", "response.queued"})
_ENDING = frozenset({"response.incomplete", "response.failed"})


def with_tool(body: dict[str, Any]) -> dict[str, Any] | None:
    if body.get("tool_choice") == "none":
        return None
    return with_appended_tool(body, _TOOL)


def _is_retrieve(item: Any) -> bool:
    return isinstance(item, dict) and item.get("type") == "function_call" and item.get("name") == RETRIEVE_TOOL_NAME


def outcome(response: dict[str, Any]) -> Outcome:
    output = [i for i in response.get("output") or () if isinstance(i, dict)]
    calls = tuple(Call(str(i.get("call_id")), parse_arguments(i.get("arguments"))) for i in output if _is_retrieve(i))
    has_client = any(i.get("type") in CLIENT_CALLS and not _is_retrieve(i) for i in output)
    usage = response.get("usage")
    return Outcome(calls, has_client, response.get("status") == "completed", output, usage if isinstance(usage, dict) else {})


def continuation(body: dict[str, Any], done: Outcome, answers: list[Answer], *, is_last: bool) -> dict[str, Any]:
    """The whole input again plus the model's output items and the call outputs. Sent in full,
    not by `previous_response_id`, so it works with `store: false` too; a client's own
    `previous_response_id` stays, and the items follow what it names."""
    given = body.get("input", [])
    items = [{"role": "user", "content": given}] if isinstance(given, str) else list(given)
    outputs = [{"type": "function_call_output", "call_id": a.call_id, "output": a.text} for a in answers]
    out = {**body, "input": [*items, *done.turn, *outputs]}
    if is_last:
        out["tool_choice"] = "none"
    return out


def merged(responses: list[dict[str, Any]]) -> dict[str, Any]:
    """The last round's response (its id continues the conversation upstream) with every round's
    visible output and the summed usage."""
    out = {**responses[-1], "output": [i for r in responses for i in r.get("output") or () if not _is_retrieve(i)]}
    if len(responses) > 1:
        out["usage"] = sum_usage([r.get("usage") or {} for r in responses])
    return out


def followup(body: dict[str, Any], client_id: Any, last_id: Any, answers: list[Answer]) -> tuple[str, str, list[Any]] | None:
    """With server-side state (`store` not false) a client continues the response id it saw. When
    that is not the last round's, or the model's last turn still holds retrieve calls the client
    never saw, its next request must continue the last round, with their outputs first:
    (id the client continues, id to continue instead, items to put first)."""
    if body.get("store") is False or not isinstance(client_id, str) or not isinstance(last_id, str):
        return None
    if client_id == last_id and not answers:
        return None
    return client_id, last_id, [{"type": "function_call_output", "call_id": a.call_id, "output": a.text} for a in answers]


def followed(body: dict[str, Any], previous_id: str, items: list[Any]) -> dict[str, Any]:
    """`body` continuing `previous_id`, with `items` before its own input."""
    given = body.get("input", [])
    own = [{"role": "user", "content": given}] if isinstance(given, str) else list(given)
    return {**body, "previous_response_id": previous_id, "input": [*items, *own]}


class Editor:
    """Edits a Responses event stream round by round: the first round's opening events, the
    retrieve function_call items held back, other items renumbered in client order, one running
    sequence_number, and one response.completed at the end with all visible output and summed usage."""

    def __init__(self) -> None:
        self.round = 0
        self.next_index = 0
        self.sequence = 0
        self.visible: list[dict[str, Any]] = []
        self.responses: list[dict[str, Any]] = []
        self._reset()

    def _reset(self) -> None:
        self.indexes: dict[int, int | None] = {}
        self.completed: dict[str, Any] | None = None
        self.completed_event = b""
        self.is_edited = self.round > 0

    def feed(self, event: bytes) -> bytes:
        data = event_data(event)
        payload = decode(data) if data else None
        if not isinstance(payload, dict):
            return event
        kind = payload.get("type")
        if kind in _OPENING and self.round > 0:
            return b""
        if kind == "response.completed":
            self.completed, self.completed_event = payload, event
            return b""
        index = payload.get("output_index")
        if isinstance(index, int):
            if kind == "response.output_item.added":
                is_held = _is_retrieve(payload.get("item"))
                self.indexes[index] = None if is_held else self.next_index
                if not is_held:
                    self.next_index += 1
            client = self.indexes.get(index, index)
            if client is None:
                self.is_edited = True
                return b""
            if kind == "response.output_item.done" and isinstance(payload.get("item"), dict):
                self.visible.append(payload["item"])
            if client != index:
                payload = {**payload, "output_index": client}
        if kind in _ENDING:
            payload = {**payload, "response": self._response(payload.get("response") or {})}
        return self._numbered(event, payload)

    def _numbered(self, event: bytes, payload: dict[str, Any]) -> bytes:
        number = self.sequence
        self.sequence += 1
        if not self.is_edited and payload.get("sequence_number") == number:
            return event
        self.is_edited = True
        out = {**payload, "sequence_number": number} if "sequence_number" in payload else payload
        return sse(out, str(payload.get("type")))

    def _response(self, response: dict[str, Any]) -> dict[str, Any]:
        if not self.is_edited:
            return response
        usages = [r.get("usage") or {} for r in self.responses]
        out = {**response, "output": list(self.visible)}
        if self.round > 0 and isinstance(response.get("usage"), dict):
            out["usage"] = sum_usage([*usages, response["usage"]])
        return out

    def end_round(self) -> Outcome:
        if self.completed is None:
            return Outcome()
        response = self.completed.get("response") or {}
        done = outcome(response)
        self.responses.append(response)
        return done

    def next_round(self) -> None:
        self.round += 1
        self._reset()

    def finish(self) -> bytes:
        if self.completed is None:
            return b""
        if not self.is_edited:
            self.sequence += 1
            return self.completed_event
        response = self.completed.get("response") or {}
        usages = [r.get("usage") or {} for r in self.responses]
        # The SDKs require one response id from response.created to response.completed.
        final = {**response, "id": self.responses[0].get("id", response.get("id")), "output": list(self.visible)}
        if self.round > 0:
            final["usage"] = sum_usage(usages)
        return self._numbered(b"", {**self.completed, "response": final})
