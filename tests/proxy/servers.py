"""Loopback servers for the proxy tests: the proxy itself under uvicorn, and a fault upstream.

The fault upstream does what the scripted fake (tests/support/fake_upstream.py) does not: it
breaks connections, streams slowly, gzips, counts huge bodies without keeping them, and notices
when the proxy hangs up. The fault is chosen by the request's `x-fault` header:

    status:500                 that status, with a provider-shaped error body
    retry:529:2                that status (retry-after-ms: 20) for the first 2 requests, then ok
    retry-long:429             429 with retry-after: 3600 (longer than the proxy waits)
    gzip                       an ok JSON body, gzip-encoded
    slow:6:150                 an Anthropic SSE stream of 6 events, 150 ms apart
    reset                      an Anthropic SSE stream that breaks off after two events
    hang                       never answer; records when the proxy gives up the request
    count                      answer with the body's length and sha256, read as it streams
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from headroom_proxy import Settings, create_app


@contextlib.contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve an ASGI app under uvicorn on 127.0.0.1 (a free port) in a thread; yield its URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="critical", access_log=False, timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.005)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()


@contextlib.contextmanager
def running_proxy(upstream_url: str, **overrides: Any) -> Iterator[str]:
    """The proxy on loopback with both providers pointed at `upstream_url`; yields its URL."""
    overrides.setdefault("retry_backoff_s", 0.01)
    overrides.setdefault("stateless", True)
    urls = {"anthropic_api_url": upstream_url, "openai_api_url": upstream_url, "gemini_api_url": upstream_url}
    settings = Settings.from_env({}, **urls, **overrides)
    with serve(create_app(settings)) as url:
        yield url


# --------------------------------------------------------------------------- the fault upstream


@dataclass
class Faults:
    """What the fault upstream saw: request counts per fault, and hung requests given up."""

    counts: dict[str, int] = field(default_factory=dict)
    abandoned: list[str] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)


MESSAGE = {
    "id": "msg_fault",
    "type": "message",
    "role": "assistant",
    "model": "claude-fault",
    "content": [{"type": "text", "text": "ok"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 5, "output_tokens": 1},
}


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def _stream_events(n_deltas: int) -> list[bytes]:
    start = dict(MESSAGE, content=[], stop_reason=None)
    events = [_sse("message_start", {"type": "message_start", "message": start})]
    events.append(_sse("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}))
    for i in range(n_deltas):
        events.append(_sse("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": f"t{i} "}}))
    events.append(_sse("content_block_stop", {"type": "content_block_stop", "index": 0}))
    events.append(_sse("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": n_deltas}}))
    events.append(_sse("message_stop", {"type": "message_stop"}))
    return events


def create_faults_app(faults: Faults) -> Starlette:
    async def endpoint(request: Request) -> Response:
        fault = request.headers.get("x-fault", "")
        faults.headers.append(dict(request.headers))
        faults.counts[fault] = faults.counts.get(fault, 0) + 1
        kind, _, arg = fault.partition(":")
        if kind == "count":
            digest, size = hashlib.sha256(), 0
            async for chunk in request.stream():
                digest.update(chunk)
                size += len(chunk)
            return JSONResponse({"size": size, "sha256": digest.hexdigest()})
        await request.body()
        if kind == "status":
            status = int(arg)
            return JSONResponse({"type": "error", "error": {"type": "api_error", "message": f"fault {status}"}}, status)
        if kind == "retry":
            status, _, times = arg.partition(":")
            if faults.counts[fault] <= int(times):
                body = {"type": "error", "error": {"type": "overloaded_error", "message": "try later"}}
                return JSONResponse(body, int(status), headers={"retry-after-ms": "20", "retry-after": "1"})
            return JSONResponse(MESSAGE)
        if kind == "retry-long":
            body = {"type": "error", "error": {"type": "rate_limit_error", "message": "much later"}}
            return JSONResponse(body, int(arg), headers={"retry-after": "3600"})
        if kind == "gzip":
            data = gzip.compress(json.dumps(MESSAGE).encode())
            return Response(data, headers={"content-encoding": "gzip", "content-type": "application/json"})
        if kind == "slow":
            count, _, gap_ms = arg.partition(":")
            return StreamingResponse(_slow(_stream_events(int(count)), int(gap_ms) / 1000), media_type="text/event-stream")
        if kind == "reset":
            return StreamingResponse(_broken(_stream_events(3)[:2]), media_type="text/event-stream")
        if kind == "hang":
            # uvicorn does not cancel a handler whose client left, so watch for it.
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if await request.is_disconnected():
                    faults.abandoned.append(fault)
                    break
                await asyncio.sleep(0.02)
            return JSONResponse(MESSAGE)
        if kind == "hang-stream":
            return StreamingResponse(_hang_after(faults, _stream_events(1)[:1]), media_type="text/event-stream")
        return JSONResponse(MESSAGE)

    methods = ["GET", "POST", "HEAD"]
    return Starlette(routes=[Route("/{path:path}", endpoint, methods=methods)])


async def _slow(events: list[bytes], gap_s: float) -> AsyncIterator[bytes]:
    for event in events:
        await asyncio.sleep(gap_s)
        yield event


class _Reset(Exception):
    """Raised inside a streaming body: uvicorn then drops the connection mid-response."""


async def _broken(events: list[bytes]) -> AsyncIterator[bytes]:
    for event in events:
        yield event
    await asyncio.sleep(0.05)
    raise _Reset("fault: connection reset mid-stream")


async def _hang_after(faults: Faults, events: list[bytes]) -> AsyncIterator[bytes]:
    for event in events:
        yield event
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        faults.abandoned.append("hang-stream")
        raise


@contextlib.contextmanager
def running_faults() -> Iterator[tuple[str, Faults]]:
    faults = Faults()
    with serve(create_faults_app(faults)) as url:
        yield url, faults
