"""From the client's body bytes to the bytes that go upstream: decode once, compress, encode.

Fails open in exactly one place (STYLE 6.4): if the core raises, the request goes upstream as the
client sent it and the failure is counted. When nothing changed, the client's original bytes go.
Knows the request shapes only as far as `model`, `stream` and OpenAI's `stream_options`.
"""

from __future__ import annotations

import functools
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
import msgspec

from headroom_core import Config, Result, Wire, compress_request

from .body import decode_content
from .components import Exchange
from .errors import BadRequest
from .settings import Settings

_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode
_log = logging.getLogger("headroom.proxy")

# Bodies above this are compressed in a worker thread, so other streams keep flowing meanwhile.
_THREAD_BYTES = 128 * 1024
_INCLUDE_USAGE = b'"stream_options":{"include_usage":true},'


@dataclass(frozen=True, slots=True)
class Prepared:
    """What goes upstream. `body` is the decoded request, None when it was never decoded."""

    content: bytes | AsyncIterator[bytes]
    body: Any = None
    is_body_decoded: bool = False      # the client's Content-Encoding was removed
    is_stripping_usage: bool = False   # the proxy asked for OpenAI usage chunks the client did not


def summarize(result: Result) -> str:
    """The short x-headroom-decisions value: how many segments each action touched.

    Kept segments are not listed; "unchanged" when nothing was touched.
    """
    counts = Counter(d.action.value for d in result.decisions if d.action.value != "kept")
    return ",".join(f"{action}={n}" for action, n in sorted(counts.items())) or "unchanged"


class Compressor:
    """Runs the core on compressible routes, with the core options from the settings."""

    def __init__(self, settings: Settings) -> None:
        self.config: Config = settings.config
        self.is_enabled = settings.optimize

    async def prepare(self, x: Exchange, raw: bytes | AsyncIterator[bytes], content_encoding: str | None) -> Prepared:
        wire = x.route.wire
        if wire is None:
            return Prepared(raw)
        if not isinstance(raw, bytes):
            return self._bypass(x, raw, "passthrough:large-body")
        if x.is_bypassed or not self.is_enabled:
            return self._bypass(x, raw, "bypass")
        decoded = decode_content(raw, content_encoding)
        if decoded is None:
            return self._bypass(x, raw, "passthrough:content-encoding")
        try:
            body = _decode(decoded)
        except msgspec.DecodeError as exc:
            raise BadRequest(f"request body: expected JSON, got invalid JSON ({exc})") from None
        if isinstance(body, dict):
            model = body.get("model")
            x.model = model if isinstance(model, str) else None
            x.is_stream = body.get("stream") is True
        result = await self._compress(x, wire, body, len(decoded))
        changed = result is not None and result.changed
        out_body = result.body if result is not None and changed else body
        is_stripping = wire is Wire.OPENAI_CHAT and x.is_stream and _lacks_usage_option(out_body)
        if is_stripping:
            if not changed and b'"stream_options"' not in decoded:
                content = _with_include_usage(decoded)
                return Prepared(content, out_body, content_encoding is not None, True)
            out_body = {**out_body, "stream_options": {**(out_body.get("stream_options") or {}), "include_usage": True}}
            changed = True
        content = _encode(out_body) if changed else decoded
        return Prepared(content, out_body, content_encoding is not None, is_stripping)

    async def _compress(self, x: Exchange, wire: Wire, body: Any, size: int) -> Result | None:
        started = time.perf_counter()
        try:
            if size > _THREAD_BYTES:
                result = await anyio.to_thread.run_sync(self._run, body, wire)
            else:
                result = self._run(body, wire)
        except Exception as exc:  # invariant 6: the request goes out as it came in, counted
            x.compression_error = f"{type(exc).__name__}: {exc}"
            x.decisions = "failed"
            _log.warning("compression failed on %s, forwarding uncompressed: %s", x.route.name, x.compression_error)
            return None
        finally:
            x.compression_ms = (time.perf_counter() - started) * 1000
        x.tokens_saved = result.tokens_saved
        x.count_tokens = functools.cache(lambda: (result.tokens_before, result.tokens_after))
        x.decisions = summarize(result)
        return result

    def _run(self, body: Any, wire: Wire) -> Result:
        return compress_request(body, wire=wire, config=self.config)

    @staticmethod
    def _bypass(x: Exchange, raw: bytes | AsyncIterator[bytes], reason: str) -> Prepared:
        x.is_bypassed = True
        x.decisions = reason
        return Prepared(raw)


def _lacks_usage_option(body: Any) -> bool:
    if not isinstance(body, dict):
        return False
    options = body.get("stream_options")
    if options is None:
        return True
    return isinstance(options, dict) and options.get("include_usage") is not True


def _with_include_usage(raw: bytes) -> bytes:
    """`raw` (a JSON object without stream_options) with include_usage spliced in after its `{`,
    so every other byte stays the client's."""
    start = raw.index(b"{") + 1
    return raw[:start] + _INCLUDE_USAGE + raw[start:]
