"""The client side of the proxy: one pooled httpx transport, target URLs, retries, error mapping.

Retries happen only while the provider cannot have started on the request: a connection that
never opened, or a 429/529/503 answer (the provider refused it). A stream is never retried and
never timed as a whole: the read timeout applies between two chunks. Knows HTTP and the
providers' retry headers, nothing of compression or of wire formats.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import time
from collections.abc import AsyncIterator

import aiohttp
import httpx

from .backends import upstream_bases
from .errors import UpstreamUnavailable
from .headers import RawHeaders
from .routes import Provider
from .settings import Settings

RETRY_STATUSES = frozenset({429, 503, 529})


def default_transport(settings: Settings) -> httpx.AsyncBaseTransport:
    """The fast transport (aiohttp under httpx's API), sized from the settings.

    httpx-aiohttp hands aiohttp only max_connections and the keep-alive expiry; the connector is
    built here so that --max-keepalive bounds the idle connections too.
    """
    from httpx_aiohttp import AiohttpTransport

    limits = httpx.Limits(
        max_connections=settings.max_connections,
        max_keepalive_connections=settings.max_keepalive,
        keepalive_expiry=settings.keepalive_expiry_s,
    )
    ssl_context = httpx.create_ssl_context(trust_env=False)

    def session() -> aiohttp.ClientSession:  # built on first use, inside the event loop
        connector = KeepaliveCappedConnector(
            max_keepalive=settings.max_keepalive,
            limit=settings.max_connections,
            keepalive_timeout=settings.keepalive_expiry_s,
            ssl=ssl_context,
        )
        return aiohttp.ClientSession(connector=connector)

    return AiohttpTransport(limits=limits, trust_env=False, client=session)


class KeepaliveCappedConnector(aiohttp.TCPConnector):
    """A connector that keeps at most `max_keepalive` idle connections (aiohttp keeps all of them
    until they expire): a connection released when that many are idle is closed instead."""

    def __init__(self, *, max_keepalive: int, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.max_keepalive = max_keepalive

    def _release(self, key, protocol, *, should_close: bool = False) -> None:  # type: ignore[no-untyped-def]
        idle = sum(len(conns) for conns in self._conns.values())
        super()._release(key, protocol, should_close=should_close or idle >= self.max_keepalive)


def base_url(url: str) -> str:
    """A configured target without its trailing slash or `/v1`: request paths carry their own `/v1`.

    >>> base_url("https://llm.example.com/v1/")
    'https://llm.example.com'
    """
    url = url.rstrip("/")
    return url[: -len("/v1")] if url.endswith("/v1") else url


def unavailable(exc: httpx.TransportError) -> UpstreamUnavailable:
    """The proxy's own 502 for a transport failure that happened before any response."""
    if isinstance(exc, httpx.TimeoutException):
        return UpstreamUnavailable(f"upstream timed out ({type(exc).__name__})")
    return UpstreamUnavailable(f"upstream unreachable: {exc or type(exc).__name__}")


def is_connect_failure(exc: httpx.TransportError) -> bool:
    """True when the request cannot have reached the provider, so sending it again is safe."""
    if isinstance(exc, (httpx.ConnectError, httpx.PoolTimeout)):
        return True
    if isinstance(exc, httpx.ConnectTimeout):
        # httpx-aiohttp maps every aiohttp ClientConnectionError to ConnectTimeout, including a
        # server that hung up after reading the request; only real connect failures qualify.
        cause = exc.__cause__
        return cause is None or isinstance(cause, (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError))
    return False


def retry_after_s(headers: httpx.Headers, *, now_s: float | None = None) -> float | None:
    """The wait a provider asked for: retry-after-ms, else Retry-After in seconds or as a date.

    >>> retry_after_s(httpx.Headers({"retry-after": "2"}))
    2.0
    """
    ms = headers.get("retry-after-ms")
    if ms is not None:
        with contextlib.suppress(ValueError):
            return max(0.0, float(ms) / 1000)
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    with contextlib.suppress(TypeError, ValueError):
        when = email.utils.parsedate_to_datetime(value).timestamp()
        return max(0.0, when - (time.time() if now_s is None else now_s))
    return None


class Upstream:
    """Sends requests to the providers' configured base URLs."""

    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.bases = {provider: base_url(url) for provider, url in upstream_bases(settings).items()}
        self.max_retries = settings.max_retries
        self.max_retry_wait_s = settings.max_retry_wait_s
        self.retry_backoff_s = settings.retry_backoff_s
        timeout = httpx.Timeout(
            connect=settings.connect_timeout_s,
            read=settings.read_timeout_s,
            write=settings.read_timeout_s,
            pool=settings.connect_timeout_s,
        )
        self._extensions = {"timeout": timeout.as_dict()}
        # Requests go straight to the transport, not through an httpx.AsyncClient: the proxy wants
        # none of what a client adds per request (default headers such as a python-httpx
        # User-Agent, a cookie jar shared by every caller, auth and redirect flows), and skipping
        # it saves about 0.1 ms a request. Only the client's own headers go upstream.
        self.transport = transport if transport is not None else default_transport(settings)

    def url_for(self, provider: Provider, raw_path: bytes, query: bytes) -> str:
        """Base URL + the client's path and query, exactly as the client wrote them."""
        url = self.bases[provider] + raw_path.decode("latin-1")
        return f"{url}?{query.decode('latin-1')}" if query else url

    async def send(
        self, method: str, url: str, headers: RawHeaders, content: bytes | AsyncIterator[bytes]
    ) -> tuple[httpx.Response, int]:
        """Send, retrying while it is safe; return the streaming response and the retries made.

        The caller must close the response. Raises `UpstreamUnavailable` when no response came.
        """
        # A streamed body can be read only once, so it gets one attempt.
        attempts = 1 + (self.max_retries if isinstance(content, bytes) else 0)
        for attempt in range(attempts):
            is_last = attempt == attempts - 1
            request = httpx.Request(method, url, headers=headers, content=content, extensions=self._extensions)
            try:
                response = await self.transport.handle_async_request(request)
            except httpx.TransportError as exc:
                if is_last or not is_connect_failure(exc):
                    raise unavailable(exc) from exc
                await asyncio.sleep(self._backoff_s(attempt))
                continue
            if response.status_code not in RETRY_STATUSES or is_last:
                return response, attempt
            wait_s = retry_after_s(response.headers)
            wait_s = self._backoff_s(attempt) if wait_s is None else wait_s
            if wait_s > self.max_retry_wait_s:
                return response, attempt
            await response.aclose()
            await asyncio.sleep(wait_s)
        raise AssertionError("unreachable: the last attempt always returns or raises")

    def _backoff_s(self, attempt: int) -> float:
        return min(self.retry_backoff_s * 2**attempt, self.max_retry_wait_s)

    async def aclose(self) -> None:
        await self.transport.aclose()
