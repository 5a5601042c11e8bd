"""--log-file: one JSON line per finished request. Never credentials, never message text.

A component, present only when a log file is configured. The file is opened at start-up and each
line is written whole (one `write` of a line-buffered file), so concurrent requests never interleave.
"""

from __future__ import annotations

import datetime
import os
from typing import IO, Any

import msgspec
from starlette.responses import Response

from .components import Exchange
from .settings import Settings
from .usage import Usage

_encode = msgspec.json.Encoder().encode


def log_record(x: Exchange) -> dict[str, Any]:
    """The logged fields of one exchange: counts, timings and names only."""
    usage = x.usage
    return {
        "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds"),
        "route": x.route.name,
        "provider": x.provider.value,
        "model": x.model,
        "stream": x.is_stream,
        "status": x.status,
        "bypassed": x.is_bypassed,
        "tokens_before": x.tokens_before,
        "tokens_after": x.tokens_after,
        "tokens_saved": x.tokens_saved,
        "usage": None
        if usage is None
        else {
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "cache_read_tokens": usage.cache_read_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
        },
        "latency_ms": round(x.latency_ms, 2),
        "compression_ms": round(x.compression_ms, 2),
        "retries": x.retries,
        "retrieval": None
        if not x.is_retrieving
        else {"calls": x.retrieval_calls, "rounds": x.retrieval_rounds, "tokens": x.retrieval_tokens},
        "decisions": x.decisions,
        "compression_error": x.compression_error,
        "error": x.error,
        "client_disconnected": x.is_client_gone,
    }


class RequestLog:
    """Appends `log_record(x)` as JSON lines to the configured file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._file: IO[bytes] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> "RequestLog | None":
        # --stateless keeps Headroom's own state off the disk; a log file the operator named
        # explicitly (often /dev/stdout in a container) is still written.
        return cls(settings.log_file) if settings.log_file else None

    def open(self) -> None:
        if self._file is None:
            directory = os.path.dirname(os.path.abspath(self.path))
            os.makedirs(directory, exist_ok=True)
            self._file = open(self.path, "ab", buffering=0)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    async def on_request(self, x: Exchange, body: object) -> Response | None:
        return None

    def on_usage(self, x: Exchange, usage: Usage) -> None:
        return None

    async def on_complete(self, x: Exchange) -> None:
        self.open()
        assert self._file is not None
        self._file.write(_encode(log_record(x)) + b"\n")
