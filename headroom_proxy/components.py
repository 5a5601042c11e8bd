"""One request's record (`Exchange`) and the hooks optional features implement (`Component`).

Features (stats, the request log; later the retrieval loop of issue 6, budget, rate limit, ...) are
components built once in `create_app`; a feature that is off is not in the tuple, so it costs
nothing per request. Hooks fire in the order the Protocol lists them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Protocol

from starlette.responses import Response

from headroom_core import Wire

from .routes import Provider, Route
from .usage import Usage


@dataclass(slots=True)
class Exchange:
    """What the proxy learned about one request, filled in as it goes. Never holds message text
    or credentials, so components may log it."""

    route: Route
    provider: Provider
    dialect: Wire
    started_s: float = field(default_factory=time.monotonic)
    model: str | None = None
    is_stream: bool = False
    is_bypassed: bool = False           # x-headroom-bypass, --no-optimize, or a body too large to buffer
    body_bytes: int = 0                 # the decoded request body, when the compressor read it
    tokens_saved: int = 0               # exact, from the rewritten segments only (cheap)
    # Counting every segment costs more than compressing: done on first read, after the response
    # (in a worker thread for a large body, see forward.complete).
    count_tokens: Callable[[], tuple[int, int]] | None = field(default=None, repr=False)
    compression_ms: float = 0.0
    decisions: str = ""                 # the short summary also sent as x-headroom-decisions
    compression_error: str | None = None
    retries: int = 0
    status: int | None = None
    usage: Usage | None = None
    error: str | None = None            # the proxy's own error, or how the stream ended early
    is_client_gone: bool = False
    # A keyed hash of the caller's credential (store.partition_for): never logged.
    partition: str = field(default="", repr=False)
    is_retrieving: bool = False         # the retrieve tool was added; the retrieval loop runs
    retrieval_rounds: int = 0           # continuations sent upstream for retrieve calls
    retrieval_calls: int = 0            # retrieve calls the proxy answered
    retrieval_tokens: int = 0           # tokens of the retrieved text sent back to the model

    @property
    def tokens_before(self) -> int:
        return self.count_tokens()[0] if self.count_tokens is not None else 0

    @property
    def tokens_after(self) -> int:
        return self.count_tokens()[1] if self.count_tokens is not None else 0

    @property
    def latency_ms(self) -> float:
        return (time.monotonic() - self.started_s) * 1000


class Component(Protocol):
    """An optional feature around the forward path. Hooks in firing order:"""

    async def on_request(self, x: Exchange, body: object) -> Response | None:
        """After the body is decoded and compressed, before it goes upstream. `body` is the decoded
        request (None when it was not decoded). May answer instead of the upstream (budget, cache),
        or return None to let the request go on."""
        ...

    def on_usage(self, x: Exchange, usage: Usage) -> None:
        """When the response's usage is known (side tap). Must be fast and never block."""
        ...

    async def on_complete(self, x: Exchange) -> None:
        """After the last byte went to the client (or the request failed); off the hot path."""
        ...
