"""The forward path: one request from the client to the provider and back (STYLE 5.1).

Reads top to bottom: read the body, compress it (failing open), let components answer, send it
upstream (retrying only while that is safe), relay the response as it arrives. Everything else
lives in the module named for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import anyio.to_thread
import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive

from .body import read_body
from .components import Component, Exchange
from .compression import Compressor, Prepared
from .errors import ProxyError, render_error
from .headers import RawHeaders, client_headers, upstream_headers
from .retrieval import Retrieval
from .routes import Route, dialect_for, provider_for
from .settings import Settings
from .store import partition_for
from .streaming import RelayResponse, is_sse
from .upstream import Upstream
from .usage import tap_for

_log = logging.getLogger("headroom.proxy")
_T = TypeVar("_T")

# Passthrough bodies up to this size are buffered (so a refused request can be retried); larger
# ones stream upstream as they arrive.
PASSTHROUGH_BUFFER_BYTES = 1024 * 1024
# Counting every token of a larger body can take milliseconds (about 60 us a KB when the texts are
# new), so it runs in a worker thread and the event loop keeps serving other requests; below this,
# the thread hop would cost more than the count.
COUNT_IN_THREAD_BYTES = 16 * 1024


@dataclass(frozen=True, slots=True)
class Deps:
    """What the forward path needs, built once in `create_app`."""

    settings: Settings
    upstream: Upstream
    compressor: Compressor
    components: tuple[Component, ...]
    retrieval: Retrieval | None = None


class ClientGone(Exception):
    """The client disconnected before the upstream answered."""


async def forward(request: Request, route: Route, deps: Deps) -> Response | RelayResponse:
    """Send one client request to its provider and relay the answer."""
    x = begin(request, route)
    try:
        raw = await read_body(request, max_buffer_bytes=buffer_limit(route, deps.settings), max_body_bytes=deps.settings.max_body_bytes)
        prepared = await deps.compressor.prepare(x, raw, request.headers.get("content-encoding"))
        if (answer := await ask_components(x, prepared, deps)) is not None:
            return answer
        upstream = await send_upstream(request, x, prepared, deps)
        upstream = await answer_retrievals(request, x, prepared, upstream, deps)
    except ProxyError as exc:
        return await fail(x, exc, deps)
    except ClientGone:
        return await abandon(x, deps)
    x.status = upstream.status_code
    tap = tap_for(x.route.wire, is_sse=is_sse(upstream), is_stripping_usage=prepared.is_stripping_usage)
    return RelayResponse(x, upstream, response_headers(x, upstream), tap, on_done=lambda: complete(x, deps))


async def send_upstream(request: Request, x: Exchange, prepared: Prepared, deps: Deps) -> httpx.Response:
    """Send to the route's provider. A buffered body is fully read, so a disconnect can be watched
    for meanwhile; a streamed one is still being read from the client and cannot be."""
    sending = sender(request, x, prepared, deps)(prepared.content)
    if isinstance(prepared.content, bytes):
        upstream, x.retries = await until_client_gone(request.receive, sending)
    else:
        upstream, x.retries = await sending
    return upstream


def sender(request: Request, x: Exchange, prepared: Prepared, deps: Deps) -> Callable[..., Awaitable[tuple[httpx.Response, int]]]:
    """Sends a body to where this request goes, with its headers (see `Upstream.send`)."""
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    url = deps.upstream.url_for(x.provider, raw_path, request.scope.get("query_string", b""))
    headers = upstream_headers(request.headers.raw, is_body_decoded=prepared.is_body_decoded)
    return functools.partial(deps.upstream.send, request.method, url, headers)


async def answer_retrievals(request: Request, x: Exchange, prepared: Prepared, upstream: httpx.Response, deps: Deps) -> httpx.Response:
    """The response after the proxy answered the model's retrieve calls (retrieval/loop.py)."""
    if not x.is_retrieving or deps.retrieval is None:
        return upstream
    watch = functools.partial(until_client_gone, request.receive)
    return await deps.retrieval.run(x, prepared.body, upstream, sender(request, x, prepared, deps), watch)


def begin(request: Request, route: Route) -> Exchange:
    """The exchange record for a new request: its provider, dialect and per-request controls."""
    path = request.url.path
    x = Exchange(route, provider_for(route, request.headers, path), dialect_for(route, request.headers, path))
    x.is_bypassed = request.headers.get("x-headroom-bypass", "").strip().lower() in ("1", "true", "yes")
    x.partition = partition_for(request.headers, request.url.query)
    # Gemini (/v1beta/models/{model}:...) and Bedrock (/model/{model_id}/invoke) name the model in the path.
    x.model = request.path_params.get("model") or request.path_params.get("model_id")
    x.is_stream = path.endswith(("streamGenerateContent", "invoke-with-response-stream"))
    return x


def buffer_limit(route: Route, settings: Settings) -> int:
    return settings.max_compress_bytes if route.is_compressible else min(PASSTHROUGH_BUFFER_BYTES, settings.max_compress_bytes)


async def ask_components(x: Exchange, prepared: Prepared, deps: Deps) -> Response | None:
    """The first component answer instead of the upstream's, if any (budget, cache, ...)."""
    for component in deps.components:
        answer = await component.on_request(x, prepared.body)
        if answer is not None:
            x.status = answer.status_code
            await complete(x, deps)
            return answer
    return None


async def until_client_gone(receive: Receive, sending: Awaitable[_T]) -> _T:
    """Await `sending`, cancelling it if the client disconnects first (the body is fully read,
    so the only message left to receive is the disconnect)."""
    task = asyncio.ensure_future(sending)
    watch = asyncio.ensure_future(_disconnected(receive))
    try:
        await asyncio.wait({task, watch}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done():
            raise ClientGone
        return task.result()
    finally:
        watch.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, ProxyError, httpx.HTTPError):
                await task


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def response_headers(x: Exchange, upstream: httpx.Response) -> RawHeaders:
    headers = client_headers(upstream.headers.raw)
    if x.route.is_compressible:
        headers.append((b"x-headroom-tokens-saved", str(x.tokens_saved).encode()))
        headers.append((b"x-headroom-decisions", (x.decisions or "unchanged").encode("ascii", "replace")))
    if x.is_retrieving and not x.is_stream:  # a stream's counts are known only at its end: see the log
        headers.append((b"x-headroom-retrievals", str(x.retrieval_calls).encode()))
        headers.append((b"x-headroom-retrieval-rounds", str(x.retrieval_rounds).encode()))
        headers.append((b"x-headroom-retrieval-tokens", str(x.retrieval_tokens).encode()))
    return headers


async def fail(x: Exchange, exc: ProxyError, deps: Deps) -> Response:
    """The proxy's own error, in the caller's dialect."""
    x.status, x.error = exc.status, str(exc)
    await complete(x, deps)
    return render_error(x.dialect, exc.status, str(exc))


async def abandon(x: Exchange, deps: Deps) -> Response:
    """Record that the client left before the upstream answered; the 499 goes nowhere but the log."""
    x.is_client_gone, x.error = True, "client disconnected before the upstream answered"
    await complete(x, deps)
    return Response(status_code=499)


async def complete(x: Exchange, deps: Deps) -> None:
    """Count the tokens, then fire on_usage and on_complete. A failing component is logged; the
    request is already done."""
    if x.count_tokens is not None and x.body_bytes > COUNT_IN_THREAD_BYTES:
        with contextlib.suppress(Exception):  # raised again where a component reads the count, and logged there
            await anyio.to_thread.run_sync(x.count_tokens)
    for component in deps.components:
        try:
            if x.usage is not None:
                component.on_usage(x, x.usage)
            await component.on_complete(x)
        except Exception:  # a component must never fail a request (STYLE 6.4)
            _log.exception("component %s failed in on_complete", type(component).__name__)
