"""The retrieval loop: the proxy answers the model's `headroom_retrieve` calls itself and continues
the conversation upstream, for at most `max_retrieval_rounds` rounds, so the client never sees them.

- The tool is added to a request (`Retrieval.inject`) only when the request holds a marker with a
  retrieval id (new in this request, or kept from an earlier turn), always at the end of `tools`,
  with the same bytes: so the tools prefix is the same every turn once markers exist.
- Non-streaming: the rounds run before the client gets a status line; it gets one response with
  every round's visible content and the summed usage. A continuation that fails reaches the client
  as the provider sent it (status and body).
- Streaming: the first round's status line and events go out as they arrive; a wire `Editor`
  holds back the retrieve call's events and the end of the round, the continuation's events
  follow with renumbered indices, and the stream ends once, with the summed usage. A continuation
  that fails ends the stream with an error event in the caller's dialect.
- Retrieve alongside a client tool: the client gets its own tool calls (the retrieve call removed)
  and acts on them; its next request, which never held the retrieve call, is consistent.
- The last allowed continuation is sent with `tool_choice` none, so the loop always ends in an
  answer the client can use.

Knows the order of the rounds; each wire's shapes live in its own module.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from types import ModuleType
from typing import Any

import httpx

from headroom_core import (
    MARKER_PATTERN,
    Result,
    RetrievalError,
    Wire,
    count_tokens,
    encoding_for_model,
)

from .. import routes
from ..components import Exchange
from ..errors import ProxyError, stream_error_event
from ..settings import Settings
from ..store import Store
from ..streaming import is_sse
from ..usage import SseEvents
from . import anthropic, openai_chat, openai_responses
from .turn import Answer, Call, decode, encode

WIRES: dict[Wire, ModuleType] = {
    Wire.ANTHROPIC: anthropic,
    Wire.OPENAI_CHAT: openai_chat,
    Wire.OPENAI_RESPONSES: openai_responses,
}
# The routes whose forward path runs this loop; a route without it must never get the tool.
ROUTES = frozenset({routes.ANTHROPIC_MESSAGES.name, routes.OPENAI_CHAT.name, routes.OPENAI_RESPONSES.name})
_MARKER = re.compile(MARKER_PATTERN.pattern.encode())
_ID_NEEDLE = b"; retrieve id="

Send = Callable[[bytes], Awaitable[tuple[httpx.Response, int]]]
Watch = Callable[[Awaitable[tuple[httpx.Response, int]]], Awaitable[tuple[httpx.Response, int]]]


def has_marker(raw: bytes) -> bool:
    """True when `raw` (a request body) holds a marker with a retrieval id."""
    if _ID_NEEDLE not in raw:
        return False
    return any(m.group("id") for m in _MARKER.finditer(raw))


class Retrieval:
    """Injects the retrieve tool and answers its calls from the caller's partition of the store."""

    def __init__(self, store: Store, max_rounds: int) -> None:
        self.store = store
        self.max_rounds = max_rounds

    @classmethod
    def from_settings(cls, settings: Settings, store: Store) -> Retrieval | None:
        if not settings.inject_retrieve_tool or settings.max_retrieval_rounds < 1:
            return None
        return cls(store, settings.max_retrieval_rounds)

    def inject(self, x: Exchange, body: Any, result: Result | None, raw: bytes) -> dict[str, Any] | None:
        """`body` with the retrieve tool, when this route runs the loop and the request holds a
        retrievable marker; None to leave the body as it is."""
        wire = x.route.wire
        if x.route.name not in ROUTES or wire not in WIRES or not isinstance(body, dict):
            return None
        if not (result is not None and result.originals) and not has_marker(raw):
            return None
        out = WIRES[wire].with_tool(body)
        x.is_retrieving = out is not None
        return out

    async def run(self, x: Exchange, body: Any, upstream: httpx.Response, send: Send, watch: Watch) -> httpx.Response:
        """The response the client gets: `upstream` itself, or the outcome of the hidden rounds."""
        if upstream.status_code != 200 or not isinstance(body, dict):
            return upstream
        turns = WIRES[x.route.wire]  # type: ignore[index]
        if is_sse(upstream):
            stream = _Rounds(self._stream(x, turns, body, upstream, send), upstream)
            return httpx.Response(upstream.status_code, headers=_relayable(upstream), stream=stream, request=upstream.request)
        return await self._buffered(x, turns, body, upstream, send, watch)

    async def _buffered(
        self, x: Exchange, turns: ModuleType, body: dict[str, Any], response: httpx.Response, send: Send, watch: Watch
    ) -> httpx.Response:
        rounds: list[dict[str, Any]] = []
        while True:
            raw = await response.aread()
            await response.aclose()
            payload = decode(raw)
            if not isinstance(payload, dict):
                return response  # read whole, so it relays from memory
            rounds.append(payload)
            done = turns.outcome(payload)
            if not done.calls:
                if len(rounds) == 1:
                    return response  # the common case: the upstream's own response, relayed from memory
                break
            if done.has_client_calls or not done.can_continue or len(rounds) > self.max_rounds:
                await self._follow_up(x, turns, body, rounds[-1], rounds[-1], done.calls)
                break
            answers = await self._answer(x, done.calls)
            body = turns.continuation(body, done, answers, is_last=len(rounds) == self.max_rounds)
            response, _ = await watch(send(encode(body)))
            if response.status_code != 200:
                x.error = f"retrieval continuation failed with status {response.status_code}"
                return response
        return _rebuilt(response, encode(turns.merged(rounds)))

    async def _stream(
        self, x: Exchange, turns: ModuleType, body: dict[str, Any], response: httpx.Response, send: Send
    ) -> AsyncIterator[bytes]:
        editor = turns.Editor()
        try:
            while True:
                events = SseEvents()
                async for chunk in response.aiter_bytes():
                    out = b"".join(editor.feed(event) for event in events.feed(chunk))
                    if out:
                        yield out
                tail = events.flush()
                if tail.strip() and (out := editor.feed(tail)):
                    yield out
                await response.aclose()
                done = editor.end_round()
                if not done.calls or done.has_client_calls or not done.can_continue or x.retrieval_rounds >= self.max_rounds:
                    if turns is openai_responses and editor.responses:
                        await self._follow_up(x, turns, body, editor.responses[0], editor.responses[-1], done.calls)
                    break
                answers = await self._answer(x, done.calls)
                body = turns.continuation(body, done, answers, is_last=x.retrieval_rounds == self.max_rounds)
                try:
                    response, _ = await send(encode(body))
                except ProxyError as exc:
                    yield self._broken(x, str(exc))
                    return
                if response.status_code != 200:
                    detail = (await response.aread()).decode("utf-8", "replace")[:500]
                    yield self._broken(x, f"status {response.status_code}: {detail}")
                    return
                editor.next_round()
            yield editor.finish()
        finally:
            await response.aclose()

    async def _follow_up(
        self, x: Exchange, turns: ModuleType, body: dict[str, Any], seen: dict[str, Any], last: dict[str, Any], calls: tuple[Call, ...]
    ) -> None:
        """Responses with server-side state: note how the client's next request continues (see
        `openai_responses.followup`); the other wires carry the whole conversation every turn."""
        if turns is not openai_responses or body.get("store") is False:
            return
        answers = [await self._answer_one(x, call) for call in calls]
        link = openai_responses.followup(body, seen.get("id"), last.get("id"), answers)
        if link is not None:
            self.store.link(x.partition, *link)

    @staticmethod
    def _broken(x: Exchange, detail: str) -> bytes:
        x.error = f"retrieval continuation failed: {detail}"
        message = f"The upstream refused the continuation after a retrieval (headroom proxy): {detail}"
        return stream_error_event(x.dialect, message)

    async def _answer(self, x: Exchange, calls: tuple[Call, ...]) -> list[Answer]:
        """One tool result per call, from the caller's own partition; errors are written for the model."""
        x.retrieval_rounds += 1
        answers = []
        for call in calls:
            x.retrieval_calls += 1
            answer = await self._answer_one(x, call)
            if not answer.is_error:
                x.retrieval_tokens += count_tokens(answer.text, encoding_for_model(x.model))
            answers.append(answer)
        return answers

    async def _answer_one(self, x: Exchange, call: Call) -> Answer:
        args = call.arguments or {}
        rid, query, offset, limit = args.get("id"), args.get("query"), args.get("offset"), args.get("limit")
        if not isinstance(rid, str) or not _is_opt(query, str) or not _is_opt(offset, int) or not _is_opt(limit, int):
            usage = 'Call it as {"id": "<the 12 hex digits after retrieve id= in a marker>"}, optionally with "query" (text) or "offset"/"limit" (integers).'
            return Answer(call.call_id, f"Invalid arguments for headroom_retrieve. {usage}", True)
        try:
            text = await self.store.retrieve(x.partition, rid.strip(), query, offset, limit)
        except RetrievalError as exc:
            return Answer(call.call_id, str(exc), True)
        return Answer(call.call_id, text)


def _is_opt(value: Any, kind: type) -> bool:
    return value is None or (isinstance(value, kind) and not isinstance(value, bool))


def _relayable(response: httpx.Response) -> list[tuple[bytes, bytes]]:
    """The response's headers for a body the proxy re-made: already decoded, length unknown."""
    return [(k, v) for k, v in response.headers.raw if k.lower() not in (b"content-encoding", b"content-length")]


def _rebuilt(response: httpx.Response, content: bytes) -> httpx.Response:
    return httpx.Response(response.status_code, headers=_relayable(response), content=content, request=response.request)


class _Rounds(httpx.AsyncByteStream):
    """The client's stream across rounds; closing it closes whichever upstream response is open."""

    def __init__(self, chunks: AsyncIterator[bytes], first: httpx.Response) -> None:
        self.chunks = chunks
        self.first = first

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.chunks:
            yield chunk

    async def aclose(self) -> None:
        await self.chunks.aclose()  # type: ignore[attr-defined]
        await self.first.aclose()
