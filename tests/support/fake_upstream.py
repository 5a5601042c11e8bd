"""A fake LLM provider for tests: Anthropic and OpenAI wire formats, scripted by the prompt.

It owns the far side of the wire: it answers like api.anthropic.com and api.openai.com do
(JSON bodies, SSE event streams, a Responses WebSocket, provider-shaped errors) and records
every request it gets, byte for byte. It knows nothing of Headroom but the shape of its markers
and the name of its retrieve tool, so that a test can script a retrieve call (``[[fake:retrieve]]``)
without knowing the retrieval id in advance.

Routes (all on one app, so one fake can stand behind any client):

    HEAD /, GET /                      liveness (Claude Code sends ``HEAD /`` first)
    POST /v1/messages                  Anthropic Messages, JSON or SSE (``stream: true``)
    POST /v1/messages/count_tokens     Anthropic token counting
    GET  /v1/models                    Anthropic's list when the request carries
                                       ``anthropic-version`` or ``x-api-key``, else OpenAI's
    POST /v1/chat/completions          OpenAI Chat Completions, JSON or SSE
    POST /v1/responses                 OpenAI Responses, JSON or SSE
    WS   /v1/responses                 OpenAI Responses over WebSocket (``response.create`` frames;
                                       a ``{"type": "fake.close", "code": N}`` frame closes with N)
    POST /v1beta/models/{m}:generateContent, :streamGenerateContent (``?alt=sse``, else a JSON
                                       array)   Gemini; the key in ``?key=`` or ``x-goog-api-key``
    POST /model/{id}/invoke, /invoke-with-response-stream
                                       Bedrock InvokeModel: checks the SigV4 signature (key pair
                                       FAKE_AWS_*), answers Anthropic JSON or an AWS event stream

What it answers is scripted by directives in the newest user text or tool output that has any
(see `Script`):

    [[fake:tool NAME {json}]]    the N-th one is the reply on the N-th model turn after that text
    [[fake:text some words]]     the final text reply (default "Hello from the fake upstream.")
    [[fake:thinking words]]      the thinking text, when the request asked for thinking
    [[fake:error 529]]           a provider error with that status (retry-after on 429/529)
    [[fake:stream_error]]        a stream that breaks off with the provider's error event
    [[fake:delay_ms 250]]        wait before answering
    [[fake:also NAME {json}]]    one more call in the same turn as the tool directive before it
    [[fake:preface some words]]  the text the model writes before its tool call(s) in a turn
    [[fake:retrieve]]            a tool turn like ``[[fake:tool ...]]``: call ``headroom_retrieve``
    [[fake:retrieve QUERY]]      with ``{"id": ...}`` (and ``"query"``), the id being the first one a
                                 marker in the request's conversation carries; with no such marker
                                 the turn is a text reply saying so (`NO_MARKER_TEXT`)

Usage in a test::

    with running_fake_upstream() as fake:
        client = anthropic.Anthropic(base_url=fake.url, api_key="dummy")
        client.messages.create(...)
        assert fake.requests[-1].json["model"] == "claude-x"

Extending it: a new directive is one entry in `_DIRECTIVES` plus a field on `Script`; a new
fault in a stream is a transformation of the event list each wire's ``*_events`` function
returns before `_sse` encodes it.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import dataclasses
import hashlib
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from headroom_core import MARKER_PATTERN, RETRIEVE_TOOL_NAME

__all__ = [
    "DEFAULT_TEXT",
    "FAKE_AWS_ACCESS_KEY_ID",
    "FAKE_AWS_SECRET_ACCESS_KEY",
    "NO_MARKER_TEXT",
    "FakeUpstream",
    "RecordedRequest",
    "RetrieveArguments",
    "RunningFakeUpstream",
    "Script",
    "ToolCall",
    "Transport",
    "anthropic_events",
    "chat_events",
    "create_fake_upstream",
    "eventstream_message",
    "gemini_chunks",
    "parse_script",
    "responses_events",
    "running_fake_upstream",
]

DEFAULT_TEXT = "Hello from the fake upstream."
DEFAULT_THINKING = "The user wants an answer; I will give it plainly."
NO_MARKER_TEXT = "[[fake:retrieve]] found no marker with a retrieval id in the request."

Event = tuple[str, dict[str, Any]]
"""One stream event: its SSE ``event:`` name and its JSON data."""


# --------------------------------------------------------------------------- recording


class Transport(str, Enum):
    """How a recorded request arrived."""

    HTTP = "http"
    WS_HANDSHAKE = "ws-handshake"
    WS_MESSAGE = "ws-message"


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the fake received it. ``headers`` keep arrival order, names lowercased."""

    method: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    json: Any
    transport: Transport = Transport.HTTP

    def header(self, name: str) -> str | None:
        """Return the first value of header `name` (any case), or None."""
        wanted = name.lower()
        return next((v for k, v in self.headers if k == wanted), None)


@dataclass
class FakeUpstream:
    """The fake's state: what it recorded and the Responses it may be asked to continue.

    One instance per app. It is touched from the server's thread and read from the test's,
    so appends and reads go through a lock.
    """

    requests: list[RecordedRequest] = field(default_factory=list)
    responses_history: dict[str, list[Any]] = field(default_factory=dict)
    ws_close_codes: list[int] = field(default_factory=list)  # close codes WebSocket clients sent
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, recorded: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(recorded)

    def snapshot(self) -> list[RecordedRequest]:
        """Return a copy of the recorded requests, oldest first."""
        with self._lock:
            return list(self.requests)

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()


# --------------------------------------------------------------------------- the script


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A tool call the fake will make: a JSON object (function tools) or a string (custom tools)."""

    name: str
    arguments: Any

    def arguments_json(self) -> str:
        return json.dumps(self.arguments, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class RetrieveArguments:
    """The arguments of a ``[[fake:retrieve]]`` call, before the request names the id."""

    query: str | None = None

    def resolved(self, conversation: Any) -> dict[str, str] | None:
        """``{"id": ...}`` (and ``"query"``) for the first marker in `conversation`, or None."""
        rid = _first_retrieval_id(conversation)
        if rid is None:
            return None
        return {"id": rid} if self.query is None else {"id": rid, "query": self.query}


def _first_retrieval_id(value: Any) -> str | None:
    """The retrieval id of the first marker in any string under `value`, in document order."""
    if isinstance(value, str):
        return next((m.group("id") for m in MARKER_PATTERN.finditer(value) if m.group("id")), None)
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for child in children:
        rid = _first_retrieval_id(child)
        if rid is not None:
            return rid
    return None


@dataclass(frozen=True, slots=True)
class Script:
    """What the directives in a prompt ask the fake to do."""

    tool_calls: tuple[ToolCall, ...] = ()
    text: str = DEFAULT_TEXT
    thinking: str = DEFAULT_THINKING
    error_status: int | None = None
    is_stream_error: bool = False
    delay_ms: int = 0
    also: tuple[tuple[int, ToolCall], ...] = ()   # (turn of the tool directive, parallel call)
    preface: str | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """The fake's answer on one model turn: an optional thinking text, then a tool call or text."""

    text: str
    tool_call: ToolCall | None
    thinking: str | None
    script: Script
    extra_calls: tuple[ToolCall, ...] = ()
    preface: str | None = None

    def calls(self) -> tuple[ToolCall, ...]:
        return () if self.tool_call is None else (self.tool_call, *self.extra_calls)


_OPEN = "[[fake:"
_CLOSE = "]]"


def _directive_tool(script: Script, rest: str) -> Script:
    name, _, payload = rest.strip().partition(" ")
    payload = payload.strip()
    arguments: Any = json.loads(payload) if payload else {}
    return dataclasses.replace(script, tool_calls=(*script.tool_calls, ToolCall(name, arguments)))


def _directive_retrieve(script: Script, rest: str) -> Script:
    call = ToolCall(RETRIEVE_TOOL_NAME, RetrieveArguments(rest.strip() or None))
    return dataclasses.replace(script, tool_calls=(*script.tool_calls, call))


def _directive_also(script: Script, rest: str) -> Script:
    call = _directive_tool(Script(), rest).tool_calls[0]
    return dataclasses.replace(script, also=(*script.also, (len(script.tool_calls) - 1, call)))


_DIRECTIVES: dict[str, Callable[[Script, str], Script]] = {
    "tool": _directive_tool,
    "also": _directive_also,
    "retrieve": _directive_retrieve,
    "preface": lambda s, rest: dataclasses.replace(s, preface=rest.strip()),
    "text": lambda s, rest: dataclasses.replace(s, text=rest.strip()),
    "thinking": lambda s, rest: dataclasses.replace(s, thinking=rest.strip()),
    "error": lambda s, rest: dataclasses.replace(s, error_status=int(rest.strip() or 529)),
    "stream_error": lambda s, rest: dataclasses.replace(s, is_stream_error=True),
    "delay_ms": lambda s, rest: dataclasses.replace(s, delay_ms=int(rest.strip())),
}


def _directive_end(text: str, start: int, kind: str) -> int:
    """Return the index of the ``]]`` closing the directive whose argument starts at `start`.

    A tool directive's JSON may itself contain ``]]``, so it is decoded rather than scanned.
    """
    if kind in ("tool", "also"):
        head = start
        while head < len(text) and text[head] == " ":
            head += 1
        name_end = head
        while name_end < len(text) and not text[name_end].isspace() and text[name_end] != "]":
            name_end += 1
        payload_start = name_end
        while payload_start < len(text) and text[payload_start].isspace():
            payload_start += 1
        if text.startswith(_CLOSE, payload_start):
            return payload_start
        _, payload_end = json.JSONDecoder().raw_decode(text, payload_start)
        return text.index(_CLOSE, payload_end)
    return text.index(_CLOSE, start)


def parse_script(text: str) -> Script | None:
    """Return the script the ``[[fake:...]]`` directives in `text` describe, or None if none.

    >>> parse_script('go [[fake:tool Read {"file_path": "/a"}]] [[fake:text done]]').tool_calls
    (ToolCall(name='Read', arguments={'file_path': '/a'}),)
    """
    script = Script()
    found = False
    position = text.find(_OPEN)
    while position >= 0:
        start = position + len(_OPEN)
        kind_end = start
        while kind_end < len(text) and (text[kind_end].isalnum() or text[kind_end] == "_"):
            kind_end += 1
        kind = text[start:kind_end]
        apply = _DIRECTIVES.get(kind)
        if apply is None:
            position = text.find(_OPEN, kind_end)
            continue
        end = _directive_end(text, kind_end, kind)
        script = apply(script, text[kind_end:end])
        found = True
        position = text.find(_OPEN, end + len(_CLOSE))
    return script if found else None


def _reply(turns: Sequence[tuple[str, int]], *, wants_thinking: bool, conversation: Any = None) -> Reply:
    """Pick the reply for this turn from (user-side text, model turns after it), newest first.

    `conversation` is the request's messages (or input items, or contents): where a
    ``[[fake:retrieve]]`` turn finds its retrieval id.
    """
    for text, model_turns_after in turns:
        script = parse_script(text)
        if script is None:
            continue
        if model_turns_after < len(script.tool_calls):
            tool_call: ToolCall | None = script.tool_calls[model_turns_after]
        else:
            tool_call = None
        thinking = script.thinking if wants_thinking else None
        if tool_call is not None and isinstance(tool_call.arguments, RetrieveArguments):
            arguments = tool_call.arguments.resolved(conversation)
            if arguments is None:
                return Reply(NO_MARKER_TEXT, None, thinking, script)
            tool_call = ToolCall(tool_call.name, arguments)
        extra = tuple(call for turn, call in script.also if turn == model_turns_after) if tool_call is not None else ()
        preface = script.preface if tool_call is not None else None
        return Reply(script.text, tool_call, thinking, script, extra, preface)
    return Reply(DEFAULT_TEXT, None, DEFAULT_THINKING if wants_thinking else None, Script())


# --------------------------------------------------------------------------- shared helpers


def _digest(*parts: object, size: int = 12) -> str:
    """A stable id fragment: the same request gives the same ids, different requests differ."""
    h = hashlib.blake2b(digest_size=size)
    for part in parts:
        h.update(part if isinstance(part, bytes) else str(part).encode())
        h.update(b"\x00")
    return h.hexdigest()


def _estimate_tokens(data: bytes | str) -> int:
    """Roughly 4 characters a token: enough for usage numbers that grow with the input."""
    return max(1, len(data) // 4)


def _split(text: str, pieces: int = 3) -> list[str]:
    """Split `text` into about `pieces` non-empty deltas, as a provider streams it."""
    if not text:
        return [""]
    step = max(1, -(-len(text) // pieces))
    return [text[i : i + step] for i in range(0, len(text), step)]


def _signature(seed: str) -> str:
    raw = hashlib.blake2b(seed.encode(), digest_size=64).digest() * 3
    return base64.b64encode(raw).decode()


def _sse(events: Sequence[Event], *, named: bool = True, done: bool = False) -> Iterator[bytes]:
    for name, data in events:
        payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        prefix = f"event: {name}\n" if named else ""
        yield f"{prefix}data: {payload}\n\n".encode()
    if done:
        yield b"data: [DONE]\n\n"


async def _paced(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk
        await asyncio.sleep(0)


def _stream(events: Sequence[Event], *, named: bool = True, done: bool = False) -> StreamingResponse:
    return StreamingResponse(
        _paced(_sse(events, named=named, done=done)),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache"},
    )


def _texts(content: Any) -> list[str]:
    """The text pieces of a provider content value: a string, or a list of typed parts."""
    if isinstance(content, str):
        return [content]
    out: list[str] = []
    if isinstance(content, list):
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                out.append(part["text"])
            elif isinstance(part, str):
                out.append(part)
    return out


def _wants_stream(body: dict[str, Any]) -> bool:
    return body.get("stream") is True


# --------------------------------------------------------------------------- Anthropic

_ANTHROPIC_ERRORS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


def _anthropic_error_body(status: int, message: str) -> dict[str, Any]:
    kind = _ANTHROPIC_ERRORS.get(status, "api_error")
    return {"type": "error", "error": {"type": kind, "message": message}}


def _retry_headers(status: int) -> dict[str, str]:
    return {"retry-after": "1"} if status in (429, 529) else {}


def _anthropic_turns(body: dict[str, Any]) -> list[tuple[str, int]]:
    """(user text or tool output, assistant turns after it), newest first."""
    turns: list[tuple[str, int]] = []
    model_turns = 0
    for message in reversed(body.get("messages") or []):
        if not isinstance(message, dict):
            continue
        if message.get("role") == "assistant":
            model_turns += 1
        elif message.get("role") == "user":
            content = message.get("content")
            blocks = content if isinstance(content, list) else [{"type": "text", "text": content}]
            for block in reversed(blocks):
                if not isinstance(block, dict):
                    continue
                if block.get("type") == "tool_result":
                    texts = _texts(block.get("content"))
                else:
                    texts = _texts([block])
                turns.extend((text, model_turns) for text in reversed(texts))
    return turns


def _anthropic_reply(body: dict[str, Any]) -> Reply:
    thinking = body.get("thinking")
    wants_thinking = isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")
    return _reply(_anthropic_turns(body), wants_thinking=wants_thinking, conversation=body.get("messages"))


def _anthropic_content(reply: Reply, seed: str) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if reply.thinking is not None:
        blocks.append({"type": "thinking", "thinking": reply.thinking, "signature": _signature(seed)})
    if reply.preface is not None:
        blocks.append({"type": "text", "text": reply.preface})
    for n, call in enumerate(reply.calls()):
        suffix = (seed, "tool") if n == 0 else (seed, "tool", n)
        blocks.append({"type": "tool_use", "id": f"toolu_01{_digest(*suffix)[:22]}", "name": call.name, "input": call.arguments})
    if reply.tool_call is None:
        blocks.append({"type": "text", "text": reply.text})
    return blocks


def _anthropic_usage(raw: bytes, output_text: str) -> dict[str, Any]:
    return {
        "input_tokens": _estimate_tokens(raw),
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": _estimate_tokens(output_text),
        "service_tier": "standard",
    }


def _anthropic_message(body: dict[str, Any], raw: bytes, reply: Reply) -> dict[str, Any]:
    seed = _digest(raw)
    content = _anthropic_content(reply, seed)
    return {
        "id": f"msg_01{seed[:22]}",
        "type": "message",
        "role": "assistant",
        "model": body.get("model", "claude-fake"),
        "content": content,
        "stop_reason": "tool_use" if reply.tool_call is not None else "end_turn",
        "stop_sequence": None,
        "usage": _anthropic_usage(raw, json.dumps(content)),
    }


def anthropic_events(message: dict[str, Any], *, is_stream_error: bool = False) -> list[Event]:
    """The SSE events that stream `message`, as the Messages API sends them."""
    start = dict(message, content=[], stop_reason=None, stop_sequence=None)
    start["usage"] = dict(message["usage"], output_tokens=1)
    events: list[Event] = [("message_start", {"type": "message_start", "message": start})]
    events.append(("ping", {"type": "ping"}))
    for index, block in enumerate(message["content"]):
        if block["type"] == "thinking":
            opening: dict[str, Any] = {"type": "thinking", "thinking": "", "signature": ""}
            deltas = [{"type": "thinking_delta", "thinking": p} for p in _split(block["thinking"])]
            deltas.append({"type": "signature_delta", "signature": block["signature"]})
        elif block["type"] == "tool_use":
            opening = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            arguments = json.dumps(block["input"], ensure_ascii=False)
            deltas = [{"type": "input_json_delta", "partial_json": ""}]
            deltas += [{"type": "input_json_delta", "partial_json": p} for p in _split(arguments)]
        else:
            opening = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": p} for p in _split(block["text"])]
        events.append(("content_block_start", {"type": "content_block_start", "index": index, "content_block": opening}))
        for delta in deltas:
            events.append(("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}))
            if is_stream_error:
                error = _anthropic_error_body(529, "fake mid-stream overload")
                return [*events, ("error", error)]
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    usage = {
        "input_tokens": message["usage"]["input_tokens"],
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": message["usage"]["output_tokens"],
    }
    delta = {"stop_reason": message["stop_reason"], "stop_sequence": None}
    events.append(("message_delta", {"type": "message_delta", "delta": delta, "usage": usage}))
    events.append(("message_stop", {"type": "message_stop"}))
    return events


async def _anthropic_messages(fake: FakeUpstream, request: Request) -> Response:
    raw, body = await _record(fake, request)
    if not isinstance(body, dict):
        return JSONResponse(_anthropic_error_body(400, "request body is not a JSON object"), 400)
    reply = _anthropic_reply(body)
    await asyncio.sleep(reply.script.delay_ms / 1000)
    status = reply.script.error_status
    if status is not None:
        error = _anthropic_error_body(status, f"fake error {status}")
        return JSONResponse(error, status, headers=_retry_headers(status))
    message = _anthropic_message(body, raw, reply)
    headers = {"request-id": f"req_01{_digest(raw)[:22]}"}
    if _wants_stream(body):
        response = _stream(anthropic_events(message, is_stream_error=reply.script.is_stream_error))
        response.headers.update(headers)
        return response
    return JSONResponse(message, headers=headers)


async def _anthropic_count_tokens(fake: FakeUpstream, request: Request) -> Response:
    raw, _ = await _record(fake, request)
    return JSONResponse({"input_tokens": _estimate_tokens(raw)})


_ANTHROPIC_MODELS = ("claude-opus-4-8", "claude-sonnet-4-6", "claude-haiku-4-5")
_OPENAI_MODELS = ("gpt-5", "gpt-4o-mini", "gpt-4.1")


async def _models(fake: FakeUpstream, request: Request) -> Response:
    await _record(fake, request)
    if "anthropic-version" in request.headers or "x-api-key" in request.headers:
        data = [
            {"type": "model", "id": m, "display_name": m, "created_at": "2025-10-01T00:00:00Z"}
            for m in _ANTHROPIC_MODELS
        ]
        return JSONResponse({"data": data, "has_more": False, "first_id": data[0]["id"], "last_id": data[-1]["id"]})
    data = [{"id": m, "object": "model", "created": 1_700_000_000, "owned_by": "openai"} for m in _OPENAI_MODELS]
    return JSONResponse({"object": "list", "data": data})


# --------------------------------------------------------------------------- OpenAI errors

_OPENAI_ERRORS = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", None),
    503: ("server_error", None),
}


def _openai_error_body(status: int, message: str) -> dict[str, Any]:
    kind, code = _OPENAI_ERRORS.get(status, ("server_error", None))
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def _openai_error(status: int) -> JSONResponse:
    return JSONResponse(_openai_error_body(status, f"fake error {status}"), status, headers=_retry_headers(status))


# --------------------------------------------------------------------------- OpenAI Chat


def _chat_turns(body: dict[str, Any]) -> list[tuple[str, int]]:
    turns: list[tuple[str, int]] = []
    model_turns = 0
    for message in reversed(body.get("messages") or []):
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        if role == "assistant":
            model_turns += 1
        elif role in ("user", "tool", "function"):
            turns.extend((text, model_turns) for text in reversed(_texts(message.get("content"))))
    return turns


def _chat_completion(body: dict[str, Any], raw: bytes, reply: Reply, created: int) -> dict[str, Any]:
    seed = _digest(raw)
    message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None, "annotations": []}
    if reply.tool_call is not None:
        message["tool_calls"] = [
            {
                "id": f"call_{seed[:24]}" if n == 0 else f"call_{_digest(seed, 'tool', n)[:24]}",
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments_json()},
            }
            for n, call in enumerate(reply.calls())
        ]
        message["content"] = reply.preface
        output = "".join(c["function"]["arguments"] for c in message["tool_calls"])
    else:
        message["content"] = reply.text
        output = reply.text
    prompt_tokens, completion_tokens = _estimate_tokens(raw), _estimate_tokens(output)
    return {
        "id": f"chatcmpl-{seed[:29]}",
        "object": "chat.completion",
        "created": created,
        "model": body.get("model", "gpt-fake"),
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": "tool_calls" if reply.tool_call is not None else "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        },
        "service_tier": "default",
        "system_fingerprint": "fp_fake",
    }


def chat_events(completion: dict[str, Any], *, include_usage: bool, is_stream_error: bool = False) -> list[Event]:
    """The ``chat.completion.chunk`` events that stream `completion` (without ``[DONE]``)."""
    base = {key: completion[key] for key in ("id", "created", "model", "service_tier", "system_fingerprint")}
    base["object"] = "chat.completion.chunk"
    choice = completion["choices"][0]
    message = choice["message"]

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> Event:
        data = dict(base, choices=[{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}])
        if include_usage:
            data["usage"] = None
        return ("", data)

    events = [chunk({"role": "assistant", "content": "" if message["content"] is not None else None, "refusal": None})]
    if message.get("tool_calls"):
        deltas = [{"content": p} for p in _split(message["content"])] if message["content"] else []
        for n, call in enumerate(message["tool_calls"]):
            opening = {"index": n, "id": call["id"], "type": "function", "function": {"name": call["function"]["name"], "arguments": ""}}
            deltas.append({"tool_calls": [opening]})
            deltas += [{"tool_calls": [{"index": n, "function": {"arguments": p}}]} for p in _split(call["function"]["arguments"])]
    else:
        deltas = [{"content": p} for p in _split(message["content"])]
    for delta in deltas:
        events.append(chunk(delta))
        if is_stream_error:
            return [*events, ("", _openai_error_body(500, "fake mid-stream error"))]
    events.append(chunk({}, choice["finish_reason"]))
    if include_usage:
        events.append(("", dict(base, choices=[], usage=completion["usage"])))
    return events


async def _chat_completions(fake: FakeUpstream, request: Request) -> Response:
    raw, body = await _record(fake, request)
    if not isinstance(body, dict):
        return JSONResponse(_openai_error_body(400, "We could not parse the JSON body of your request."), 400)
    reply = _reply(_chat_turns(body), wants_thinking=False, conversation=body.get("messages"))
    await asyncio.sleep(reply.script.delay_ms / 1000)
    if reply.script.error_status is not None:
        return _openai_error(reply.script.error_status)
    completion = _chat_completion(body, raw, reply, int(time.time()))
    if _wants_stream(body):
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        events = chat_events(completion, include_usage=include_usage, is_stream_error=reply.script.is_stream_error)
        return _stream(events, named=False, done=not reply.script.is_stream_error)
    return JSONResponse(completion)


# --------------------------------------------------------------------------- OpenAI Responses

_MODEL_ITEM_TYPES = frozenset(
    {"function_call", "custom_tool_call", "reasoning", "web_search_call", "local_shell_call", "compaction"}
)


def _is_model_item(item: dict[str, Any]) -> bool:
    if item.get("type") == "message" or (item.get("type") is None and "role" in item):
        return item.get("role") == "assistant"
    return item.get("type") in _MODEL_ITEM_TYPES


def _responses_input(body: dict[str, Any]) -> list[Any]:
    value = body.get("input")
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    return list(value) if isinstance(value, list) else []


def _responses_turns(items: Sequence[Any]) -> list[tuple[str, int]]:
    """(user text or tool output, model turns after it), newest first. A turn is a run of model items."""
    turns: list[tuple[str, int]] = []
    model_turns = 0
    in_model_run = False
    for item in reversed(items):
        if not isinstance(item, dict):
            continue
        if _is_model_item(item):
            if not in_model_run:
                model_turns += 1
            in_model_run = True
            continue
        in_model_run = False
        kind = item.get("type")
        if kind in ("function_call_output", "custom_tool_call_output", "local_shell_call_output"):
            texts = _texts(item.get("output"))
        elif item.get("role") == "user":
            texts = _texts(item.get("content"))
        else:
            texts = []
        turns.extend((text, model_turns) for text in reversed(texts))
    return turns


def _tool_kind(body: dict[str, Any], items: Sequence[Any], name: str) -> str:
    """Return "custom" if the request declares `name` as a custom (free-form) tool, else "function".

    Codex declares tools both in ``tools`` and inside an ``additional_tools`` input item, nested
    in namespaces, so this searches every dict under those.
    """
    stack: list[Any] = [body.get("tools")]
    stack += [item for item in items if isinstance(item, dict) and item.get("type") == "additional_tools"]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            if node.get("name") == name and node.get("type") in ("custom", "function"):
                return str(node["type"])
            stack.extend(v for v in node.values() if isinstance(v, (list, dict)))
    return "function"


def _responses_output(body: dict[str, Any], items: Sequence[Any], reply: Reply, seed: str) -> list[dict[str, Any]]:
    output: list[dict[str, Any]] = []
    if body.get("reasoning") is not None:
        reasoning: dict[str, Any] = {
            "id": f"rs_{seed[:32]}",
            "type": "reasoning",
            "summary": [{"type": "summary_text", "text": DEFAULT_THINKING if reply.thinking is None else reply.thinking}],
        }
        include = body.get("include") or ()
        if "reasoning.encrypted_content" in include:
            reasoning["encrypted_content"] = _signature(seed)
        output.append(reasoning)
    if reply.preface is not None:
        text_part = {"type": "output_text", "text": reply.preface, "annotations": [], "logprobs": []}
        output.append({"id": f"msg_{_digest(seed, 'preface')[:32]}", "type": "message", "status": "completed", "role": "assistant", "content": [text_part]})
    call = reply.tool_call
    if call is not None and _tool_kind(body, items, call.name) == "custom":
        text_input = call.arguments if isinstance(call.arguments, str) else call.arguments_json()
        output.append(
            {
                "id": f"ctc_{seed[:32]}",
                "type": "custom_tool_call",
                "status": "completed",
                "call_id": f"call_{seed[:24]}",
                "name": call.name,
                "input": text_input,
            }
        )
    elif call is not None:
        output.append(
            {
                "id": f"fc_{seed[:32]}",
                "type": "function_call",
                "status": "completed",
                "call_id": f"call_{seed[:24]}",
                "name": call.name,
                "arguments": call.arguments_json(),
            }
        )
    for n, extra in enumerate(reply.extra_calls, start=1):
        output.append(
            {
                "id": f"fc_{_digest(seed, 'tool', n)[:32]}",
                "type": "function_call",
                "status": "completed",
                "call_id": f"call_{_digest(seed, 'tool', n)[:24]}",
                "name": extra.name,
                "arguments": extra.arguments_json(),
            }
        )
    if call is None:
        output.append(
            {
                "id": f"msg_{seed[:32]}",
                "type": "message",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": reply.text, "annotations": [], "logprobs": []}],
            }
        )
    return output


def _responses_object(body: dict[str, Any], raw: bytes, output: list[dict[str, Any]], seed: str) -> dict[str, Any]:
    output_tokens = _estimate_tokens(json.dumps(output))
    input_tokens = _estimate_tokens(raw)
    return {
        "id": f"resp_{seed}",
        "object": "response",
        "created_at": int(time.time()),
        "status": "completed",
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": body.get("model", "gpt-fake"),
        "output": output,
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"),
        "reasoning": body.get("reasoning") or {"effort": None, "summary": None},
        "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0),
        "text": body.get("text") or {"format": {"type": "text"}},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools") or [],
        "top_p": body.get("top_p", 1.0),
        "truncation": "disabled",
        "usage": {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": input_tokens + output_tokens,
        },
        "metadata": body.get("metadata") or {},
    }


def _in_progress(item: dict[str, Any]) -> dict[str, Any]:
    """`item` as ``output_item.added`` shows it: nothing generated yet."""
    opened = dict(item)
    if "status" in opened:
        opened["status"] = "in_progress"
    if item["type"] == "message":
        opened["content"] = []
    elif item["type"] == "function_call":
        opened["arguments"] = ""
    elif item["type"] == "custom_tool_call":
        opened["input"] = ""
    elif item["type"] == "reasoning":
        opened["summary"] = []
        opened.pop("encrypted_content", None)
    return opened


def _item_events(index: int, item: dict[str, Any], *, is_stream_error: bool) -> tuple[list[dict[str, Any]], bool]:
    """The events between an item's ``output_item.added`` and ``done``; True if it broke off."""
    at = {"item_id": item["id"], "output_index": index}
    events: list[dict[str, Any]] = []
    if item["type"] == "message":
        text = item["content"][0]["text"]
        empty_part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        events.append({"type": "response.content_part.added", **at, "content_index": 0, "part": empty_part})
        for piece in _split(text):
            events.append({"type": "response.output_text.delta", **at, "content_index": 0, "delta": piece, "logprobs": []})
            if is_stream_error:
                return events, True
        events.append({"type": "response.output_text.done", **at, "content_index": 0, "text": text, "logprobs": []})
        events.append({"type": "response.content_part.done", **at, "content_index": 0, "part": item["content"][0]})
    elif item["type"] == "function_call":
        for piece in _split(item["arguments"]):
            events.append({"type": "response.function_call_arguments.delta", **at, "delta": piece})
            if is_stream_error:
                return events, True
        events.append({"type": "response.function_call_arguments.done", **at, "name": item["name"], "arguments": item["arguments"]})
    elif item["type"] == "custom_tool_call":
        for piece in _split(item["input"]):
            events.append({"type": "response.custom_tool_call_input.delta", **at, "delta": piece})
        events.append({"type": "response.custom_tool_call_input.done", **at, "input": item["input"]})
    elif item["type"] == "reasoning":
        summary = item["summary"][0]
        part = {"type": "summary_text", "text": ""}
        events.append({"type": "response.reasoning_summary_part.added", **at, "summary_index": 0, "part": part})
        for piece in _split(summary["text"]):
            events.append({"type": "response.reasoning_summary_text.delta", **at, "summary_index": 0, "delta": piece})
        events.append({"type": "response.reasoning_summary_text.done", **at, "summary_index": 0, "text": summary["text"]})
        events.append({"type": "response.reasoning_summary_part.done", **at, "summary_index": 0, "part": summary})
    return events, False


def responses_events(response: dict[str, Any], *, is_stream_error: bool = False) -> list[Event]:
    """The Responses API stream events for `response`, each with its ``sequence_number``."""
    pending = dict(response, status="in_progress", output=[], usage=None)
    data: list[dict[str, Any]] = [
        {"type": "response.created", "response": pending},
        {"type": "response.in_progress", "response": pending},
    ]
    broke_off = False
    for index, item in enumerate(response["output"]):
        data.append({"type": "response.output_item.added", "output_index": index, "item": _in_progress(item)})
        inner, broke_off = _item_events(index, item, is_stream_error=is_stream_error and item["type"] != "reasoning")
        data += inner
        if broke_off:
            error = {"code": "server_error", "message": "fake mid-stream error"}
            data.append({"type": "error", **error, "param": None})
            data.append({"type": "response.failed", "response": dict(pending, status="failed", error=error)})
            break
        data.append({"type": "response.output_item.done", "output_index": index, "item": item})
    if not broke_off:
        data.append({"type": "response.completed", "response": response})
    return [(d["type"], dict(d, sequence_number=n)) for n, d in enumerate(data)]


class _ResponsesError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body["error"]["message"])
        self.status = status
        self.body = body


def _responses_answer(fake: FakeUpstream, body: dict[str, Any], raw: bytes) -> tuple[Reply, dict[str, Any]]:
    """Build the response object for one ``responses.create`` body and remember its history."""
    items = _responses_input(body)
    previous = body.get("previous_response_id")
    if previous:
        if previous not in fake.responses_history:
            message = f"Previous response with id '{previous}' not found."
            error = {"error": {"message": message, "type": "invalid_request_error", "param": "previous_response_id", "code": "previous_response_not_found"}}
            raise _ResponsesError(400, error)
        items = fake.responses_history[previous] + items
    reply = _reply(_responses_turns(items), wants_thinking=body.get("reasoning") is not None, conversation=items)
    seed = _digest(raw)
    generate = body.get("generate", True) is not False
    output = _responses_output(body, items, reply, seed) if generate else []
    response = _responses_object(body, raw, output, seed)
    fake.responses_history[response["id"]] = items + output
    return reply, response


async def _responses(fake: FakeUpstream, request: Request) -> Response:
    raw, body = await _record(fake, request)
    if not isinstance(body, dict):
        return JSONResponse(_openai_error_body(400, "We could not parse the JSON body of your request."), 400)
    try:
        reply, response = _responses_answer(fake, body, raw)
    except _ResponsesError as exc:
        return JSONResponse(exc.body, exc.status)
    await asyncio.sleep(reply.script.delay_ms / 1000)
    if reply.script.error_status is not None:
        return _openai_error(reply.script.error_status)
    if _wants_stream(body):
        return _stream(responses_events(response, is_stream_error=reply.script.is_stream_error))
    return JSONResponse(response)


async def _responses_websocket(fake: FakeUpstream, websocket: WebSocket) -> None:
    """Serve ``response.create`` frames as the Responses WebSocket mode does: events as JSON frames."""
    handshake = RecordedRequest(
        method="GET",
        path=websocket.url.path,
        query=websocket.url.query,
        headers=tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in websocket.scope["headers"]),
        body=b"",
        json=None,
        transport=Transport.WS_HANDSHAKE,
    )
    fake.record(handshake)
    await websocket.accept()
    try:
        while True:
            frame = await websocket.receive_text()
            raw = frame.encode()
            body = _parse_json(raw)
            fake.record(dataclasses.replace(handshake, method="WS", body=raw, json=body, transport=Transport.WS_MESSAGE))
            if isinstance(body, dict) and body.get("type") == "fake.close":
                # Test hook: the fake ends the connection itself, with the code and reason asked for.
                await websocket.close(int(body.get("code", 1000)), str(body.get("reason", "")))
                return
            if not isinstance(body, dict) or body.get("type") != "response.create":
                await websocket.send_json({"type": "error", "status": 400, "error": {"type": "invalid_request_error", "message": "expected a response.create frame"}})
                continue
            request_body = {k: v for k, v in body.items() if k != "type"}
            try:
                reply, response = _responses_answer(fake, request_body, raw)
            except _ResponsesError as exc:
                await websocket.send_json({"type": "error", "status": exc.status, **exc.body})
                continue
            await asyncio.sleep(reply.script.delay_ms / 1000)
            status = reply.script.error_status
            if status is not None:
                await websocket.send_json({"type": "error", "status": status, **_openai_error_body(status, f"fake error {status}")})
                continue
            for _, event in responses_events(response, is_stream_error=reply.script.is_stream_error):
                await websocket.send_text(json.dumps(event, ensure_ascii=False, separators=(",", ":")))
    except WebSocketDisconnect as exc:
        fake.ws_close_codes.append(exc.code)
        return


# --------------------------------------------------------------------------- Gemini

_GOOGLE_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}


def _google_error(status: int, message: str) -> JSONResponse:
    body = {"error": {"code": status, "message": message, "status": _GOOGLE_STATUS.get(status, "INTERNAL")}}
    return JSONResponse(body, status)


def _gemini_turns(body: dict[str, Any]) -> list[tuple[str, int]]:
    """(user text or function response, model turns after it), newest first."""
    turns: list[tuple[str, int]] = []
    model_turns = 0
    for content in reversed(body.get("contents") or []):
        if not isinstance(content, dict):
            continue
        if content.get("role") == "model":
            model_turns += 1
            continue
        for part in reversed(content.get("parts") or []):
            if not isinstance(part, dict):
                continue
            if isinstance(part.get("text"), str):
                turns.append((part["text"], model_turns))
            elif isinstance(part.get("functionResponse"), dict):
                turns.append((json.dumps(part["functionResponse"].get("response"), ensure_ascii=False), model_turns))
    return turns


def gemini_chunks(model: str, raw: bytes, reply: Reply) -> list[dict[str, Any]]:
    """The GenerateContentResponse chunks of one reply; joined, they are the whole response."""
    prompt_tokens = _estimate_tokens(raw)
    if reply.tool_call is not None:
        pieces = [{"functionCall": {"name": reply.tool_call.name, "args": reply.tool_call.arguments}}]
        parts_per_chunk = [pieces]
    else:
        parts_per_chunk = [[{"text": piece}] for piece in _split(reply.text)]
    chunks = []
    output_tokens = 0
    for n, parts in enumerate(parts_per_chunk):
        output_tokens += _estimate_tokens(json.dumps(parts))
        is_last = n == len(parts_per_chunk) - 1
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
        if is_last:
            candidate["finishReason"] = "STOP"
        usage = {"promptTokenCount": prompt_tokens, "candidatesTokenCount": output_tokens, "totalTokenCount": prompt_tokens + output_tokens}
        chunks.append({"candidates": [candidate], "usageMetadata": usage, "modelVersion": model, "responseId": _digest(raw)[:20]})
    return chunks


async def _gemini(fake: FakeUpstream, request: Request) -> Response:
    raw, body = await _record(fake, request)
    model, _, method = request.path_params["target"].partition(":")
    if not (request.query_params.get("key") or request.headers.get("x-goog-api-key")):
        return _google_error(403, "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.")
    if method not in ("generateContent", "streamGenerateContent"):
        return _google_error(404, f"models/{model}:{method} is not found")
    if not isinstance(body, dict):
        return _google_error(400, "Invalid JSON payload received.")
    reply = _reply(_gemini_turns(body), wants_thinking=False, conversation=body.get("contents"))
    await asyncio.sleep(reply.script.delay_ms / 1000)
    if reply.script.error_status is not None:
        return _google_error(reply.script.error_status, f"fake error {reply.script.error_status}")
    chunks = gemini_chunks(model, raw, reply)
    if method == "generateContent":
        whole = dict(chunks[-1])
        parts = [part for chunk in chunks for part in chunk["candidates"][0]["content"]["parts"]]
        if reply.tool_call is None:
            parts = [{"text": "".join(p["text"] for p in parts)}]
        whole["candidates"] = [dict(chunks[-1]["candidates"][0], content={"role": "model", "parts": parts})]
        return JSONResponse(whole)
    if request.query_params.get("alt") == "sse":
        events = (f"data: {json.dumps(c, ensure_ascii=False)}\r\n\r\n".encode() for c in chunks)
        return StreamingResponse(_paced(events), media_type="text/event-stream")
    return JSONResponse(chunks)  # without alt=sse, Gemini streams one JSON array


# --------------------------------------------------------------------------- Bedrock

# The key pair the fake Bedrock accepts; any other signature is refused as AWS would refuse it.
FAKE_AWS_ACCESS_KEY_ID = "AKIDFAKEHEADROOM"
FAKE_AWS_SECRET_ACCESS_KEY = "fake/secret+KEY/for/loopback/only"
BEDROCK_VERSION = "bedrock-2023-05-31"


def _aws_error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse({"message": message}, status, headers={"x-amzn-ErrorType": f"{kind}:http://internal.amazon.com/coral/com.amazon.bedrock/"})


def _sigv4_problem(request: Request, raw: bytes) -> str | None:
    """Why the request's SigV4 signature is wrong, or None when it is right (AWS's algorithm)."""
    import hmac
    from urllib.parse import quote, unquote

    auth = request.headers.get("authorization", "")
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        return "Missing Authentication Token"
    try:
        fields = dict(part.strip().split("=", 1) for part in auth[len("AWS4-HMAC-SHA256 ") :].split(","))
        access_key, date, region, service, terminal = fields["Credential"].split("/")
        fields["SignedHeaders"], fields["Signature"]
    except (KeyError, ValueError):
        return "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters."
    if access_key != FAKE_AWS_ACCESS_KEY_ID:
        return "The security token included in the request is invalid."
    if service != "bedrock" or terminal != "aws4_request":
        return f"Credential should be scoped to correct service: 'bedrock', not {service!r}."
    names = fields["SignedHeaders"].split(";")
    if "host" not in names or "x-amz-date" not in names:
        return "host and x-amz-date must be signed"
    amz_date = request.headers.get("x-amz-date", "")
    if not amz_date.startswith(date):
        return "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP"
    raw_path = request.scope.get("raw_path", request.url.path.encode()).decode()
    query = sorted(
        (quote(unquote(k), safe="-_.~"), quote(unquote(v), safe="-_.~"))
        for k, _, v in (p.partition("=") for p in request.url.query.split("&") if p)
    )
    canonical = "\n".join(
        [
            request.method,
            quote(raw_path, safe="/~"),
            "&".join(f"{k}={v}" for k, v in query),
            "".join(f"{n}:{' '.join(request.headers.get(n, '').split())}\n" for n in names),
            ";".join(names),
            hashlib.sha256(raw).hexdigest(),
        ]
    )
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    key = ("AWS4" + FAKE_AWS_SECRET_ACCESS_KEY).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, fields["Signature"]):
        return "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method."
    return None


def eventstream_message(headers: dict[str, str], payload: bytes) -> bytes:
    """One AWS event-stream message (string headers), with its prelude and message CRC32s."""
    import struct
    import zlib

    encoded = b"".join(
        bytes([len(k)]) + k.encode() + b"\x07" + struct.pack(">H", len(v.encode())) + v.encode() for k, v in headers.items()
    )
    prelude = struct.pack(">II", 12 + len(encoded) + len(payload) + 4, len(encoded))
    head = prelude + struct.pack(">I", zlib.crc32(prelude)) + encoded + payload
    return head + struct.pack(">I", zlib.crc32(head))


def _bedrock_chunk(event: dict[str, Any]) -> bytes:
    data = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
    payload = json.dumps({"bytes": base64.b64encode(data).decode(), "p": "abcdefghij"}).encode()
    return eventstream_message({":event-type": "chunk", ":content-type": "application/json", ":message-type": "event"}, payload)


async def _bedrock_invoke(fake: FakeUpstream, request: Request) -> Response:
    raw, body = await _record(fake, request)
    problem = _sigv4_problem(request, raw)
    if problem is not None:
        return _aws_error(403, "InvalidSignatureException" if "signature" in problem else "UnrecognizedClientException", problem)
    if not isinstance(body, dict):
        return _aws_error(400, "ValidationException", "Malformed input request, please reformat your input and try again.")
    extra = sorted(k for k in ("model", "stream") if k in body)
    if body.get("anthropic_version") != BEDROCK_VERSION or extra:
        return _aws_error(400, "ValidationException", f"Malformed input request: anthropic_version must be {BEDROCK_VERSION}; extraneous key {extra} is not permitted")
    model_id = request.path_params["model_id"]
    reply = _anthropic_reply(body)
    status = reply.script.error_status
    if status is not None:
        kind = {429: "ThrottlingException", 503: "ServiceUnavailableException"}.get(status, "InternalServerException")
        return _aws_error(status, kind, f"fake error {status}")
    message = _anthropic_message(dict(body, model=model_id), raw, reply)
    headers = {"x-amzn-requestid": _digest(raw)[:36], "x-amzn-bedrock-input-token-count": str(message["usage"]["input_tokens"])}
    if not request.url.path.endswith("/invoke-with-response-stream"):
        return JSONResponse(message, headers=headers)
    events = [data for _, data in anthropic_events(message)]
    usage = message["usage"]
    events[-1] = dict(events[-1], **{"amazon-bedrock-invocationMetrics": {"inputTokenCount": usage["input_tokens"], "outputTokenCount": usage["output_tokens"], "invocationLatency": 42, "firstByteLatency": 7}})
    frames = [_bedrock_chunk(event) for event in events if event["type"] != "ping"]
    if reply.script.is_stream_error:
        exception = {":exception-type": "modelStreamErrorException", ":content-type": "application/json", ":message-type": "exception"}
        frames = [*frames[:3], eventstream_message(exception, b'{"message":"fake mid-stream model error"}')]
    return StreamingResponse(_paced(iter(frames)), media_type="application/vnd.amazon.eventstream", headers=headers)


# --------------------------------------------------------------------------- app


def _parse_json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


async def _record(fake: FakeUpstream, request: Request) -> tuple[bytes, Any]:
    raw = await request.body()
    body = _parse_json(raw)
    fake.record(
        RecordedRequest(
            method=request.method,
            path=request.url.path,
            query=request.url.query,
            headers=tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in request.scope["headers"]),
            body=raw,
            json=body,
        )
    )
    return raw, body


async def _root(fake: FakeUpstream, request: Request) -> Response:
    await _record(fake, request)
    if request.method == "HEAD":
        return Response(status_code=200)
    return JSONResponse({"status": "ok", "service": "fake-upstream"})


async def _not_found(fake: FakeUpstream, request: Request) -> Response:
    await _record(fake, request)
    return JSONResponse(_openai_error_body(404, f"Unknown route {request.method} {request.url.path}"), 404)


def create_fake_upstream(fake: FakeUpstream | None = None) -> Starlette:
    """Build the fake provider app. Its state (recordings) is `fake`, also at ``app.state.fake``."""
    state = fake if fake is not None else FakeUpstream()

    def bind(handler: Callable[[FakeUpstream, Request], Any]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            return await handler(state, request)

        return endpoint

    async def websocket_endpoint(websocket: WebSocket) -> None:
        await _responses_websocket(state, websocket)

    routes = [
        Route("/", bind(_root), methods=["GET", "HEAD"]),
        Route("/v1/messages", bind(_anthropic_messages), methods=["POST"]),
        Route("/v1/messages/count_tokens", bind(_anthropic_count_tokens), methods=["POST"]),
        Route("/v1/models", bind(_models), methods=["GET"]),
        Route("/v1/chat/completions", bind(_chat_completions), methods=["POST"]),
        Route("/v1/responses", bind(_responses), methods=["POST"]),
        WebSocketRoute("/v1/responses", websocket_endpoint),
        Route("/v1beta/models/{target}", bind(_gemini), methods=["POST"]),
        Route("/model/{model_id:path}/invoke", bind(_bedrock_invoke), methods=["POST"]),
        Route("/model/{model_id:path}/invoke-with-response-stream", bind(_bedrock_invoke), methods=["POST"]),
        Route("/{path:path}", bind(_not_found), methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]),
    ]
    app = Starlette(routes=routes)
    app.state.fake = state
    return app


# --------------------------------------------------------------------------- running it


@dataclass(frozen=True, slots=True)
class RunningFakeUpstream:
    """A fake served on loopback: `url` has no trailing slash and no ``/v1``."""

    url: str
    fake: FakeUpstream
    app: Starlette

    @property
    def requests(self) -> list[RecordedRequest]:
        """The requests recorded so far, oldest first (a copy)."""
        return self.fake.snapshot()

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])


@contextlib.contextmanager
def running_fake_upstream(port: int = 0, *, fake: FakeUpstream | None = None) -> Iterator[RunningFakeUpstream]:
    """Serve a fake upstream under uvicorn in a background thread on 127.0.0.1.

    Port 0 picks a free port. The server stops when the block exits.
    """
    state = fake if fake is not None else FakeUpstream()
    app = create_fake_upstream(state)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        ws="websockets-sansio",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="fake-upstream", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("fake upstream did not start")
            time.sleep(0.005)
        yield RunningFakeUpstream(f"http://127.0.0.1:{sock.getsockname()[1]}", state, app)
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()


def main(argv: Sequence[str] | None = None) -> None:
    """Run the fake in the foreground: ``python -m tests.support.fake_upstream --port 8787``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=8787)
    args = parser.parse_args(argv)
    uvicorn.run(create_fake_upstream(), host="127.0.0.1", port=args.port, ws="websockets-sansio", log_level="info")


if __name__ == "__main__":
    main()
