"""OpenAI Responses over WebSocket (`GET /v1/responses` upgrade), as Codex's built-in provider speaks it.

The proxy opens its own WebSocket to the OpenAI target with the client's handshake headers (minus
hop-by-hop, `sec-websocket-*` and `x-headroom-*` ones), accepts the client with the subprotocol the
upstream chose, then relays frames both ways as they arrive. A client `response.create` frame goes
through the core like a `POST /v1/responses` body (an incremental turn with `previous_response_id`
is compressed as it is: what is in the frame); every other frame, and every frame the proxy did
not change, goes on byte for byte. One Exchange per `response.create`, completed when its
`response.completed` (or failed, incomplete, error) frame comes back. Close codes cross both ways.
Knows the WebSocket handshake and the Responses frame types, nothing of HTTP forwarding.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections import deque
from typing import Any

import msgspec
import websockets
from starlette.responses import Response
from starlette.websockets import WebSocket
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from headroom_core import Wire

from .auth import presented_token
from .components import Exchange
from .errors import error_body
from .forward import Deps, ask_components, complete
from .headers import upstream_headers
from .routes import OPENAI_RESPONSES_WS, Provider
from .store import partition_for
from .usage import usage_from

_log = logging.getLogger("headroom.proxy")
_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode

# Codes an endpoint may not put in a close frame (RFC 6455 7.4.1); each maps to one it may.
_UNSENDABLE = {1005: 1000, 1006: 1011, 1015: 1011}
_TERMINAL = (b'"response.completed"', b'"response.failed"', b'"response.incomplete"', b'"type":"error"', b'"type": "error"')


def upstream_ws_url(base: str, raw_path: bytes, query: bytes) -> str:
    """The upstream WebSocket URL: the HTTP target with ws/wss for http/https, plus the client's path.

    >>> upstream_ws_url("https://api.openai.com", b"/v1/responses", b"")
    'wss://api.openai.com/v1/responses'
    """
    scheme, sep, rest = base.partition("://")
    ws_scheme = {"http": "ws", "https": "wss"}.get(scheme.lower(), scheme)
    url = ws_scheme + sep + rest + raw_path.decode("latin-1")
    return f"{url}?{query.decode('latin-1')}" if query else url


def sendable(code: int | None) -> int:
    """A close code the proxy may send for one it received (1005 'no code' becomes 1000)."""
    if code is None:
        return 1000
    return _UNSENDABLE.get(code, code)


def _handshake_headers(raw: list[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    # upstream_headers drops hop-by-hop, host and x-headroom-*, and appends its own accept-encoding,
    # which means nothing on a WebSocket; the library negotiates sec-websocket-* itself.
    return [
        (k.decode("latin-1"), v.decode("latin-1"))
        for k, v in upstream_headers(raw)[:-1]
        if not k.lower().startswith(b"sec-websocket-")
    ]


def _error_frame(status: int, message: str) -> str:
    body = error_body(Wire.OPENAI_RESPONSES, status, message)
    return _encode({"type": "error", "status": status, **body}).decode()


class ResponsesSocket:
    """The `/v1/responses` WebSocket endpoint."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.base = deps.upstream.bases[Provider.OPENAI]
        self.max_size = deps.settings.max_body_bytes
        self.token = deps.settings.proxy_token

    async def serve(self, websocket: WebSocket) -> None:
        """Serve one client connection until either side closes it."""
        if self.token is not None:
            token = presented_token(websocket.headers)
            if token is None or not hmac.compare_digest(token.encode(), self.token.encode()):
                await websocket.close(1008, "missing or wrong proxy token: send it in the x-headroom-token header")
                return
        scope = websocket.scope
        url = upstream_ws_url(self.base, scope.get("raw_path") or scope["path"].encode(), scope.get("query_string", b""))
        offered = [p.strip() for p in websocket.headers.get("sec-websocket-protocol", "").split(",") if p.strip()]
        try:
            upstream = await websockets.connect(
                url,
                additional_headers=_handshake_headers(list(scope["headers"])),
                subprotocols=offered or None,  # type: ignore[arg-type]
                user_agent_header=None,
                proxy=None,
                open_timeout=self.deps.settings.connect_timeout_s,
                max_size=self.max_size,
                ping_interval=20,
                ping_timeout=60,
            )
        except InvalidStatus as exc:
            # The upstream refused the upgrade: the client sees its status and body (a 404 or 401
            # makes Codex fall back to HTTP, as it would without the proxy).
            answer = exc.response
            headers = {k: v for k, v in answer.headers.raw_items() if k.lower() == "content-type"}
            await websocket.send_denial_response(Response(answer.body or b"", answer.status_code, headers))
            return
        except (OSError, InvalidHandshake, asyncio.TimeoutError) as exc:
            message = f"upstream WebSocket unreachable: {exc or type(exc).__name__}"
            body = _encode(error_body(Wire.OPENAI_RESPONSES, 502, message))
            await websocket.send_denial_response(Response(body, 502, media_type="application/json"))
            return
        await websocket.accept(subprotocol=upstream.subprotocol)
        await _Relay(self.deps, websocket, upstream).run()


class _Relay:
    """One client connection and its upstream connection, relayed until either side closes."""

    def __init__(self, deps: Deps, client: WebSocket, upstream: ClientConnection) -> None:
        self.deps = deps
        self.client = client
        self.upstream = upstream
        self.is_bypassed = client.headers.get("x-headroom-bypass", "").strip().lower() in ("1", "true", "yes")
        self.pending: deque[Exchange] = deque()
        self.partition = partition_for(client.headers, client.url.query)

    async def run(self) -> None:
        up = asyncio.ensure_future(self._client_to_upstream())
        down = asyncio.ensure_future(self._upstream_to_client())
        try:
            await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (up, down):
                task.cancel()
            for task in (up, down):
                with contextlib.suppress(asyncio.CancelledError, ConnectionClosed, RuntimeError):
                    await task
            await self.upstream.close()
            while self.pending:
                x = self.pending.popleft()
                x.error = x.error or "connection closed before the response completed"
                await complete(x, self.deps)

    async def _client_to_upstream(self) -> None:
        while True:
            message = await self.client.receive()
            if message["type"] == "websocket.disconnect":
                await self.upstream.close(sendable(message.get("code")), message.get("reason") or "")
                return
            text, data = message.get("text"), message.get("bytes")
            if text is not None:
                out = await self._frame(text)
                if out is not None:
                    await self.upstream.send(out)
            elif data is not None:
                await self.upstream.send(data)

    async def _upstream_to_client(self) -> None:
        try:
            async for frame in self.upstream:
                if isinstance(frame, str):
                    await self.client.send({"type": "websocket.send", "text": frame})
                    await self._watch(frame)
                else:
                    await self.client.send({"type": "websocket.send", "bytes": frame})
        except ConnectionClosed:
            pass
        received = self.upstream.protocol.close_rcvd
        code = sendable(received.code if received is not None else 1006)
        await self.client.close(code, received.reason if received is not None else "upstream connection lost")

    async def _frame(self, text: str) -> str | None:
        """The frame to send upstream for a client text frame; None when the proxy answered it."""
        if '"response.create"' not in text:
            return text
        raw = text.encode()
        try:
            frame = _decode(raw)
        except msgspec.DecodeError:
            return text
        if not isinstance(frame, dict) or frame.get("type") != "response.create":
            return text
        x = Exchange(OPENAI_RESPONSES_WS, Provider.OPENAI, Wire.OPENAI_RESPONSES, is_stream=True)
        x.is_bypassed = self.is_bypassed
        x.partition = self.partition
        prepared = await self.deps.compressor.prepare(x, raw, None)
        answer = await ask_components(x, prepared, self.deps)
        if answer is not None:  # already completed by ask_components
            await self.client.send_text(_component_error(answer))
            return None
        self.pending.append(x)
        content = prepared.content
        if content is raw or not isinstance(content, bytes):
            return text
        return content.decode()

    async def _watch(self, frame: str) -> None:
        """Complete the oldest pending turn when its final frame goes by (usage read on the way)."""
        if not self.pending or not any(marker in frame.encode() for marker in _TERMINAL):
            return
        try:
            event: Any = _decode(frame)
        except msgspec.DecodeError:
            return
        kind = event.get("type") if isinstance(event, dict) else None
        if kind not in ("response.completed", "response.failed", "response.incomplete", "error"):
            return
        x = self.pending.popleft()
        if kind == "error":
            status = event.get("status")
            x.status = status if isinstance(status, int) else 500
            x.error = "upstream error frame"
        else:
            x.status = 200
            x.usage = usage_from(Wire.OPENAI_RESPONSES, event.get("response"))
        await complete(x, self.deps)


def _component_error(answer: Response) -> str:
    """A component's HTTP answer (budget, rate limit) as a Responses WebSocket error frame."""
    try:
        body = _decode(bytes(answer.body))
    except msgspec.DecodeError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return _encode({"type": "error", "status": answer.status_code, **body}).decode()
    return _error_frame(answer.status_code, "request refused by the proxy")
