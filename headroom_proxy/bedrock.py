"""Amazon Bedrock: Anthropic Messages in, InvokeModel out, signed with SigV4, and the answer back.

Two entry points:
- `messages` serves `POST /v1/messages` under `--backend bedrock`: the (compressed) body loses
  `model` and `stream` (they become the path `/model/{id}/invoke[-with-response-stream]`), gains
  `anthropic_version: bedrock-2023-05-31` and the client's `anthropic-beta` as `anthropic_beta`,
  and is signed with the proxy's AWS credentials; the client's own credentials never go to AWS.
  A streamed answer (`application/vnd.amazon.eventstream`) is translated back to Anthropic SSE
  as it arrives; Bedrock errors come back in Anthropic's error shape.
- `invoke` serves `/model/{id}/invoke[-with-response-stream]` for clients that already speak
  Bedrock: compressed like Anthropic Messages (the model comes from the path), re-signed when the
  proxy has credentials, and relayed as Bedrock sent it.

Knows Bedrock's paths, body rules and stream framing; the forward steps are forward.py's.
"""

from __future__ import annotations

import base64
import binascii
import datetime
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import msgspec
from starlette.requests import Request
from starlette.responses import Response

from headroom_core import Wire

from .body import decode_content, read_body
from .components import Exchange
from .errors import BadRequest, ProxyError, render_error
from .eventstream import EventStreamDecoder, EventStreamError
from .forward import (
    ClientGone,
    Deps,
    abandon,
    ask_components,
    begin,
    complete,
    fail,
    response_headers,
    until_client_gone,
)
from .headers import RawHeaders, upstream_headers
from .routes import BEDROCK_INVOKE, BEDROCK_MESSAGES, Provider
from .sigv4 import AwsCredentials, sign
from .streaming import RelayResponse
from .upstream import retry_after_s
from .usage import AnthropicUsageTap, JsonUsageTap, Usage

BEDROCK_ANTHROPIC_VERSION = "bedrock-2023-05-31"
EVENTSTREAM = "application/vnd.amazon.eventstream"
_SERVICE = "bedrock"
_MAX_ERROR_BYTES = 64 * 1024
_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode

# Bedrock stream exception -> the Anthropic error type a client of /v1/messages knows.
_STREAM_ERRORS = {
    "throttlingException": "rate_limit_error",
    "serviceUnavailableException": "overloaded_error",
    "validationException": "invalid_request_error",
}


def invoke_path(model_id: str, *, is_stream: bool) -> str:
    """The InvokeModel path for `model_id`; an ARN's `/` is percent-encoded, `:` is not.

    aiohttp's URL normalisation sends `%3A` as `:`, and the signature must cover the path as it is
    sent, so the proxy sends `:` itself (AWS accepts both spellings).

    >>> invoke_path("arn:aws:bedrock:us-east-1:1:inference-profile/us.anthropic.claude-v1:0", is_stream=True)
    '/model/arn:aws:bedrock:us-east-1:1:inference-profile%2Fus.anthropic.claude-v1:0/invoke-with-response-stream'
    """
    return f"/model/{quote(model_id, safe=':')}/" + ("invoke-with-response-stream" if is_stream else "invoke")


def invoke_body(body: dict[str, Any], betas: list[str]) -> dict[str, Any]:
    """An Anthropic Messages body as InvokeModel wants it: no model or stream, a Bedrock version.

    >>> invoke_body({"model": "m", "stream": True, "max_tokens": 5}, ["b-1"])
    {'max_tokens': 5, 'anthropic_version': 'bedrock-2023-05-31', 'anthropic_beta': ['b-1']}
    """
    out = {k: v for k, v in body.items() if k not in ("model", "stream")}
    out.setdefault("anthropic_version", BEDROCK_ANTHROPIC_VERSION)
    if betas and "anthropic_beta" not in out:
        out["anthropic_beta"] = betas
    return out


class BedrockStreamTap:
    """Reads an InvokeModel event stream as it goes by: each `chunk` event carries one Anthropic
    stream event (base64 JSON). Translating, it passes on that event as Anthropic SSE; otherwise
    it passes on the bytes as they came. Usage is read either way."""

    def __init__(self, *, is_translating: bool) -> None:
        self.is_translating = is_translating
        self._decoder = EventStreamDecoder()
        self._usage = AnthropicUsageTap()
        self._is_broken = False

    @property
    def usage(self) -> Usage | None:
        return self._usage.usage

    def feed(self, chunk: bytes) -> bytes:
        out = b"".join(self._events(chunk)) if not self._is_broken else b""
        return out if self.is_translating else chunk

    def flush(self) -> bytes:
        if self.is_translating and self._decoder.has_partial and not self._is_broken:
            return _sse_error("api_error", "Bedrock's event stream ended in the middle of a message (headroom proxy).")
        return b""

    def _events(self, chunk: bytes) -> list[bytes]:
        try:
            messages = self._decoder.feed(chunk)
        except EventStreamError as exc:
            self._is_broken = True
            return [_sse_error("api_error", f"Bedrock's event stream is malformed: {exc} (headroom proxy).")]
        out = []
        for message in messages:
            kind = message.header(":message-type")
            if kind == "exception" or kind == "error":
                name = message.header(":exception-type") or message.header(":error-code") or "internalServerException"
                out.append(_sse_error(_STREAM_ERRORS.get(name, "api_error"), _message_of(message.payload) or name))
                continue
            if message.header(":event-type") != "chunk":
                continue
            event = _chunk_event(message.payload)
            if event is None:
                continue
            sse = _sse(event)
            self._usage.feed(sse)
            out.append(sse)
        return out


def _chunk_event(payload: bytes) -> bytes | None:
    try:
        data = _decode(payload)
        return base64.b64decode(data["bytes"], validate=True) if isinstance(data, dict) and isinstance(data.get("bytes"), str) else None
    except (msgspec.DecodeError, binascii.Error):
        return None


def _sse(event: bytes) -> bytes:
    try:
        decoded = _decode(event)
        kind = decoded.get("type") if isinstance(decoded, dict) else None
    except msgspec.DecodeError:
        kind = None
    name = kind.encode() if isinstance(kind, str) else b"message"
    return b"event: " + name + b"\ndata: " + event + b"\n\n"


def _sse_error(kind: str, message: str) -> bytes:
    return b"event: error\ndata: " + _encode({"type": "error", "error": {"type": kind, "message": message}}) + b"\n\n"


def _message_of(payload: bytes) -> str | None:
    try:
        data = _decode(payload) if payload else None
    except msgspec.DecodeError:
        return None
    if isinstance(data, dict):
        message = data.get("message") or data.get("Message")
        return message if isinstance(message, str) else None
    return None


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


class Bedrock:
    """Signs and sends to the Bedrock runtime; built once in `create_app`."""

    def __init__(self, deps: Deps, clock: Callable[[], datetime.datetime] = _now) -> None:
        self.deps = deps
        self.base = deps.upstream.bases[Provider.BEDROCK]
        self.region = deps.settings.region
        self.credentials: AwsCredentials | None = deps.settings.aws_credentials
        self.clock = clock

    def signed_headers(self, url: str, content: bytes, *, accept: str, credentials: AwsCredentials) -> RawHeaders:
        """Exactly the headers that go to AWS, all of them signed."""
        headers = [("host", urlsplit(url).netloc), ("content-type", "application/json"), ("accept", accept)]
        added = sign("POST", url, headers, content, credentials=credentials, region=self.region, service=_SERVICE, now=self.clock())
        return [(k.encode(), v.encode()) for k, v in [*headers, *added.items()]]

    async def messages(self, request: Request) -> Response | RelayResponse:
        """`POST /v1/messages` under `--backend bedrock`."""
        deps = self.deps
        x = begin(request, BEDROCK_MESSAGES)
        try:
            body = await self._prepare(request, x)
            if isinstance(body, Response):
                return body
            model = body.get("model")
            if not isinstance(model, str) or not model:
                raise BadRequest("$.model: expected a Bedrock model id or inference profile (a string), got none")
            is_stream = body.get("stream") is True
            x.model, x.is_stream = model, is_stream
            betas = [b.strip() for b in request.headers.get("anthropic-beta", "").split(",") if b.strip()]
            content = _encode(invoke_body(body, betas))
            url = self.base + invoke_path(model, is_stream=is_stream)
            assert self.credentials is not None  # check_backend refused to start without them
            headers = self.signed_headers(url, content, accept=EVENTSTREAM if is_stream else "application/json", credentials=self.credentials)
            upstream = await self._send(request, x, url, headers, content)
        except ProxyError as exc:
            return await fail(x, exc, deps)
        except ClientGone:
            return await abandon(x, deps)
        x.status = upstream.status_code
        if upstream.status_code >= 400:
            return await self._error(x, upstream)
        headers = response_headers(x, upstream)
        if is_stream:
            headers = [(k, v) for k, v in headers if k.lower() != b"content-type"] + [(b"content-type", b"text/event-stream")]
            return RelayResponse(x, upstream, headers, BedrockStreamTap(is_translating=True), on_done=lambda: complete(x, deps))
        return RelayResponse(x, upstream, headers, JsonUsageTap(Wire.ANTHROPIC), on_done=lambda: complete(x, deps))

    async def invoke(self, request: Request) -> Response | RelayResponse:
        """`POST /model/{model_id}/invoke[-with-response-stream]` from a client that speaks Bedrock."""
        deps = self.deps
        x = begin(request, BEDROCK_INVOKE)
        # A client's own SigV4 signature covers the body: change a byte and AWS refuses it.
        is_client_signed = request.headers.get("authorization", "").startswith("AWS4-HMAC-SHA256")
        if is_client_signed and self.credentials is None:
            x.is_bypassed = True
        try:
            max_body = deps.settings.max_body_bytes
            raw = await read_body(request, max_buffer_bytes=max_body, max_body_bytes=max_body)
            assert isinstance(raw, bytes)
            prepared = await deps.compressor.prepare(x, raw, request.headers.get("content-encoding"))
            if (answer := await ask_components(x, prepared, deps)) is not None:
                return answer
            content = prepared.content
            assert isinstance(content, bytes)
            url = self.base + invoke_path(request.path_params["model_id"], is_stream=x.is_stream)
            if self.credentials is not None:
                accept = request.headers.get("accept") or (EVENTSTREAM if x.is_stream else "application/json")
                headers = self.signed_headers(url, content, accept=accept, credentials=self.credentials)
            else:
                headers = upstream_headers(request.headers.raw, is_body_decoded=prepared.is_body_decoded)
            upstream = await self._send(request, x, url, headers, content)
        except ProxyError as exc:
            return await fail(x, exc, deps)
        except ClientGone:
            return await abandon(x, deps)
        x.status = upstream.status_code
        is_eventstream = upstream.headers.get("content-type", "").startswith(EVENTSTREAM)
        tap = BedrockStreamTap(is_translating=False) if is_eventstream else JsonUsageTap(Wire.ANTHROPIC)
        return RelayResponse(x, upstream, response_headers(x, upstream), tap, on_done=lambda: complete(x, deps))

    async def count_tokens(self, request: Request) -> Response:
        """Bedrock's InvokeModel has no count_tokens: say so in the client's dialect."""
        return render_error(Wire.ANTHROPIC, 404, "count_tokens is not available with --backend bedrock (headroom proxy)")

    async def _prepare(self, request: Request, x: Exchange) -> dict[str, Any] | Response:
        """The decoded, compressed body, or a component's answer in its place."""
        max_body = self.deps.settings.max_body_bytes
        raw = await read_body(request, max_buffer_bytes=max_body, max_body_bytes=max_body)
        assert isinstance(raw, bytes)
        encoding = request.headers.get("content-encoding")
        prepared = await self.deps.compressor.prepare(x, raw, encoding)
        if (answer := await ask_components(x, prepared, self.deps)) is not None:
            return answer
        body = prepared.body
        if body is None:  # bypassed: decode it here, the path and body rules still apply
            decoded = decode_content(raw, encoding)
            if decoded is None:
                raise BadRequest(f"request body: content-encoding {encoding!r} cannot be re-signed for Bedrock")
            try:
                body = _decode(decoded)
            except msgspec.DecodeError as exc:
                raise BadRequest(f"request body: expected JSON, got invalid JSON ({exc})") from None
        if not isinstance(body, dict):
            raise BadRequest(f"request body: expected a JSON object, got {type(body).__name__}")
        return body

    async def _send(self, request: Request, x: Exchange, url: str, headers: RawHeaders, content: bytes) -> httpx.Response:
        upstream, x.retries = await until_client_gone(request.receive, self.deps.upstream.send("POST", url, headers, content))
        return upstream

    async def _error(self, x: Exchange, upstream: httpx.Response) -> Response:
        """A Bedrock error (`{"message": ...}` plus x-amzn-ErrorType) in Anthropic's shape."""
        data = b""
        try:
            async for chunk in upstream.aiter_bytes():
                data += chunk
                if len(data) > _MAX_ERROR_BYTES:
                    break
        finally:
            await upstream.aclose()
        kind = upstream.headers.get("x-amzn-errortype", "").split(":")[0]
        message = _message_of(data) or kind or f"Bedrock answered {upstream.status_code}"
        x.error = f"bedrock {upstream.status_code} {kind}".strip()
        await complete(x, self.deps)
        return render_error(Wire.ANTHROPIC, upstream.status_code, message, retry_after_s=retry_after_s(upstream.headers))
