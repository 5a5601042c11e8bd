"""In-memory counters since start-up, for /health (and later /stats). One instance per app."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import Response

from .components import Exchange
from .usage import Usage


@dataclass(slots=True)
class Stats:
    """Totals over every finished request. A component: it only counts, it never answers."""

    started_s: float = field(default_factory=time.monotonic)
    requests: int = 0
    errors: int = 0                     # requests that ended with a status >= 400 or broke off
    bypassed: int = 0
    compression_failures: int = 0
    tokens_before: int = 0
    tokens_after: int = 0
    upstream_input_tokens: int = 0
    upstream_output_tokens: int = 0
    by_route: dict[str, int] = field(default_factory=dict)

    async def on_request(self, x: Exchange, body: object) -> Response | None:
        return None

    def on_usage(self, x: Exchange, usage: Usage) -> None:
        self.upstream_input_tokens += usage.input_tokens
        self.upstream_output_tokens += usage.output_tokens

    async def on_complete(self, x: Exchange) -> None:
        self.requests += 1
        self.by_route[x.route.name] = self.by_route.get(x.route.name, 0) + 1
        self.errors += (x.status or 500) >= 400 or x.error is not None
        self.bypassed += x.is_bypassed
        self.compression_failures += x.compression_error is not None
        self.tokens_before += x.tokens_before
        self.tokens_after += x.tokens_after

    @property
    def tokens_saved(self) -> int:
        return self.tokens_before - self.tokens_after

    @property
    def uptime_s(self) -> float:
        return time.monotonic() - self.started_s

    def snapshot(self) -> dict[str, Any]:
        """The counters as plain data, keys sorted (deterministic output)."""
        return {
            "bypassed": self.bypassed,
            "by_route": dict(sorted(self.by_route.items())),
            "compression_failures": self.compression_failures,
            "errors": self.errors,
            "requests": self.requests,
            "tokens_after": self.tokens_after,
            "tokens_before": self.tokens_before,
            "tokens_saved": self.tokens_saved,
            "upstream_input_tokens": self.upstream_input_tokens,
            "upstream_output_tokens": self.upstream_output_tokens,
        }
