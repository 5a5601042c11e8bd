"""The relay: an upstream response goes to the client chunk by chunk, as it arrives.

A usage tap watches the chunks go by. When the client leaves, the upstream call is cancelled and
its connection closed. When the upstream breaks off mid-stream, an SSE client gets one error event
in its own dialect (so its SDK raises instead of seeing a short but well-formed stream) and any
other client sees the connection drop, as it would without the proxy. Knows ASGI and httpx
responses, nothing of routes or compression.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import httpx
from starlette.types import Receive, Scope, Send

from .components import Exchange
from .errors import stream_error_event
from .headers import RawHeaders
from .usage import UsageTap


def is_sse(response: httpx.Response) -> bool:
    return response.headers.get("content-type", "").startswith("text/event-stream")


class RelayResponse:
    """An ASGI response that streams `upstream` to the client and then calls `on_done`."""

    def __init__(
        self,
        x: Exchange,
        upstream: httpx.Response,
        headers: RawHeaders,
        tap: UsageTap | None,
        on_done: Callable[[], Awaitable[None]],
    ) -> None:
        self.x = x
        self.upstream = upstream
        self.headers = headers
        self.tap = tap
        self.on_done = on_done

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        relay = asyncio.ensure_future(self._relay(send))
        watch = asyncio.ensure_future(_client_gone(receive))
        try:
            await asyncio.wait({relay, watch}, return_when=asyncio.FIRST_COMPLETED)
            if not relay.done():
                self.x.is_client_gone = True
                self.x.error = "client disconnected"
                relay.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await relay
        finally:
            for task in (relay, watch):
                task.cancel()
            await self.upstream.aclose()
            await self.on_done()

    async def _relay(self, send: Send) -> None:
        tap = self.tap
        await send({"type": "http.response.start", "status": self.upstream.status_code, "headers": self.headers})
        try:
            async for chunk in self.upstream.aiter_bytes():
                out = tap.feed(chunk) if tap is not None else chunk
                if out:
                    await send({"type": "http.response.body", "body": out, "more_body": True})
        except (httpx.TransportError, httpx.DecodingError) as exc:
            self.x.error = f"upstream broke off: {type(exc).__name__}: {exc}"
            if not is_sse(self.upstream):
                raise  # the server drops the connection: the client sees the same failure
            message = "The upstream connection broke off in the middle of the response (headroom proxy)."
            await send({"type": "http.response.body", "body": stream_error_event(self.x.dialect, message), "more_body": True})
        else:
            tail = tap.flush() if tap is not None else b""
            if tail:
                await send({"type": "http.response.body", "body": tail, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        if tap is not None:
            self.x.usage = tap.usage


async def _client_gone(receive: Receive) -> None:
    """Return when the client disconnects (any request body left over is ignored)."""
    while (await receive())["type"] != "http.disconnect":
        pass

