"""The proxy's own errors, and how one is rendered in the caller's dialect.

    ProxyError                     base: carries the HTTP status the client gets
    ├── BadRequest (400)           the client's body is not JSON
    ├── BodyTooLarge (413)         the body exceeds `Settings.max_body_bytes`
    └── UpstreamUnavailable (502)  the provider could not be reached (connect error, timeout before
                                   any response, a reset before the status line)

A missing or wrong proxy token is answered by the token gate (auth.py) with a 401 rendered here.
Provider errors (4xx/5xx from upstream) are never wrapped: their status and body reach the client
unchanged. This module knows the error shapes of each wire, nothing of routing or forwarding.
"""

from __future__ import annotations

from typing import Mapping

import msgspec
from starlette.responses import Response

from headroom_core import Wire


class ProxyError(Exception):
    """An error the proxy answers itself; `status` is the HTTP status the client gets."""

    status = 500


class BadRequest(ProxyError):
    status = 400


class BodyTooLarge(ProxyError):
    status = 413


class UpstreamUnavailable(ProxyError):
    status = 502


# status -> (Anthropic error type, OpenAI error type, OpenAI code), as each provider names them.
_KINDS: Mapping[int, tuple[str, str, str | None]] = {
    400: ("invalid_request_error", "invalid_request_error", "invalid_json"),
    401: ("authentication_error", "invalid_request_error", "invalid_proxy_token"),
    403: ("permission_error", "invalid_request_error", None),
    404: ("not_found_error", "invalid_request_error", "not_found"),
    413: ("request_too_large", "invalid_request_error", "request_too_large"),
    429: ("rate_limit_error", "requests", "rate_limit_exceeded"),
    502: ("api_error", "server_error", "upstream_unavailable"),
    503: ("overloaded_error", "server_error", "service_unavailable"),
}

# Gemini's error "status" names (google.rpc.Code).
_GEMINI_STATUS: Mapping[int, str] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    413: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
}

_encode = msgspec.json.Encoder().encode


def error_body(wire: Wire, status: int, message: str) -> dict[str, object]:
    """The JSON error object a client of `wire` expects for `status`.

    >>> error_body(Wire.ANTHROPIC, 413, "too big")
    {'type': 'error', 'error': {'type': 'request_too_large', 'message': 'too big'}}
    """
    anthropic_type, openai_type, code = _KINDS.get(status, ("api_error", "server_error", None))
    if wire is Wire.ANTHROPIC:
        return {"type": "error", "error": {"type": anthropic_type, "message": message}}
    if wire is Wire.GEMINI:
        return {"error": {"code": status, "message": message, "status": _GEMINI_STATUS.get(status, "INTERNAL")}}
    return {"error": {"message": message, "type": openai_type, "param": None, "code": code}}


def render_error(wire: Wire, status: int, message: str, *, retry_after_s: float | None = None) -> Response:
    """A JSON error response in the caller's dialect, with Retry-After when one applies.

    >>> render_error(Wire.OPENAI_CHAT, 502, "upstream unreachable").status_code
    502
    """
    headers = {"retry-after": str(max(0, round(retry_after_s)))} if retry_after_s is not None else None
    return Response(_encode(error_body(wire, status, message)), status, headers, media_type="application/json")


def stream_error_event(wire: Wire, message: str) -> bytes:
    """An SSE error event in `wire`'s stream dialect, for a stream that broke off upstream.

    >>> stream_error_event(Wire.ANTHROPIC, "reset")[:13]
    b'event: error\\n'
    """
    if wire is Wire.ANTHROPIC:
        data = error_body(wire, 502, message)
        return b"event: error\ndata: " + _encode(data) + b"\n\n"
    if wire is Wire.OPENAI_RESPONSES:
        data = {"type": "error", "code": "upstream_unavailable", "message": message, "param": None}
        return b"event: error\ndata: " + _encode(data) + b"\n\n"
    return b"data: " + _encode(error_body(wire, 502, message)) + b"\n\n"
