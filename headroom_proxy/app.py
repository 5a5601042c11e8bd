"""`create_app(settings)`: the Starlette app, its routes, and the components built once from settings.

Knows how the pieces fit together; each piece lives in its own module.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.routing import Route as Path

from headroom_core import count_tokens

from . import routes
from .auth import TokenGate, check_binding
from .backends import check_backend
from .bedrock import Bedrock
from .components import Component
from .compression import Compressor
from .forward import Deps, forward
from .health import Health, Readiness
from .requestlog import RequestLog
from .retrieval import Retrieval
from .settings import Settings
from .stats import Stats
from .store import Store
from .upstream import Upstream
from .websocket import ResponsesSocket

_ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def create_app(settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None) -> Starlette:
    """Build the proxy app. `transport` replaces the default aiohttp-backed one (tests).

    Raises SettingsError when the settings are unsafe (a non-loopback bind without a token).

    >>> create_app(Settings()).state.settings.port
    8787
    """
    check_binding(settings)
    check_backend(settings)
    stats = Stats()
    request_log = RequestLog.from_settings(settings)
    components: tuple[Component, ...] = tuple(c for c in (stats, request_log) if c is not None)
    store = Store.from_settings(settings)  # opened on first use, so building an app writes nothing
    retrieval = Retrieval.from_settings(settings, store)
    deps = Deps(settings, Upstream(settings, transport), Compressor(settings, store, retrieval), components, retrieval)
    readiness = Readiness()
    health = Health(settings, stats, readiness)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if request_log is not None:
            request_log.open()
        # Loading the tokenizer takes ~150 ms: do it beside start-up, not in the first request.
        warming = asyncio.ensure_future(asyncio.to_thread(count_tokens, "warm up", settings.config.encoding))
        try:
            yield
        finally:
            readiness.is_ready = False
            await warming
            await deps.upstream.aclose()
            await asyncio.to_thread(store.close)
            if request_log is not None:
                request_log.close()

    middleware = [Middleware(TokenGate, token=settings.proxy_token)] if settings.proxy_token else []
    app = Starlette(routes=_routes(deps, health), middleware=middleware, lifespan=lifespan)
    app.state.settings = settings
    app.state.stats = stats
    app.state.deps = deps
    return app


def _routes(deps: Deps, health: Health) -> list[BaseRoute]:
    def to(route: routes.Route) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            return await forward(request, route, deps)  # type: ignore[return-value]

        return endpoint

    return [
        *_backend_routes(deps),
        Path("/", health.root, methods=["GET", "HEAD"]),
        Path("/livez", health.livez, methods=["GET", "HEAD"]),
        Path("/readyz", health.readyz, methods=["GET", "HEAD"]),
        Path("/health", health.health, methods=["GET", "HEAD"]),
        Path("/v1/messages", to(routes.ANTHROPIC_MESSAGES), methods=["POST"]),
        Path("/v1/messages/count_tokens", to(routes.ANTHROPIC_COUNT_TOKENS), methods=["POST"]),
        Path("/v1/chat/completions", to(routes.OPENAI_CHAT), methods=["POST"]),
        Path("/v1/responses", to(routes.OPENAI_RESPONSES), methods=["POST"]),
        Path("/v1/models", to(routes.MODELS), methods=["GET"]),
        Path("/v1beta/models/{model}:generateContent", to(routes.GEMINI_GENERATE), methods=["POST"]),
        Path("/v1beta/models/{model}:streamGenerateContent", to(routes.GEMINI_GENERATE), methods=["POST"]),
        Path("/{path:path}", to(routes.PASSTHROUGH), methods=_ANY_METHOD),
    ]


def _backend_routes(deps: Deps) -> list[BaseRoute]:
    """Routes ahead of the table above: the Responses WebSocket, Bedrock's own paths, and under
    --backend bedrock the Anthropic routes that go to Bedrock instead."""
    bedrock = Bedrock(deps)
    out: list[BaseRoute] = [
        WebSocketRoute("/v1/responses", ResponsesSocket(deps).serve),
        Path("/model/{model_id:path}/invoke", bedrock.invoke, methods=["POST"]),
        Path("/model/{model_id:path}/invoke-with-response-stream", bedrock.invoke, methods=["POST"]),
    ]
    if deps.settings.backend == "bedrock":
        out.append(Path("/v1/messages", bedrock.messages, methods=["POST"]))
        out.append(Path("/v1/messages/count_tokens", bedrock.count_tokens, methods=["POST"]))
    return out
