"""Inbound authentication: the proxy token (HEADROOM_PROXY_TOKEN).

When a token is configured, every request except the liveness and readiness probes must carry it
in `x-headroom-token` or `Proxy-Authorization: Bearer`; it is compared in constant time. Neither
header ever goes upstream (headers.py drops both). Binding to a non-loopback address without a
token is refused at start-up (`check_binding`).
"""

from __future__ import annotations

import hmac

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import render_error
from .routes import PASSTHROUGH, dialect_for
from .settings import Settings, SettingsError

OPEN_PATHS = frozenset({"/livez", "/readyz"})


def check_binding(settings: Settings) -> None:
    """Refuse a non-loopback bind without a token: anyone on the network could use the proxy."""
    if not settings.is_loopback and not settings.proxy_token:
        raise SettingsError(
            f"host={settings.host!r}: binding off loopback requires HEADROOM_PROXY_TOKEN "
            "(clients then send it in x-headroom-token)"
        )


def presented_token(headers: Headers) -> str | None:
    """The token a request carries, from x-headroom-token or Proxy-Authorization: Bearer."""
    token = headers.get("x-headroom-token")
    if token is not None:
        return token.strip()
    scheme, _, value = headers.get("proxy-authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value else None


class TokenGate:
    """ASGI middleware: 401 in the caller's dialect unless the request carries the token."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        token = presented_token(headers)
        if token is not None and hmac.compare_digest(token.encode(), self.token):
            await self.app(scope, receive, send)
            return
        dialect = dialect_for(PASSTHROUGH, headers, scope["path"])
        message = "missing or wrong proxy token: send it in the x-headroom-token header"
        await render_error(dialect, 401, message)(scope, receive, send)
