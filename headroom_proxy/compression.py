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

from headroom_core import Config, Mode, Result, Wire, compress_request

from .body import decode_content
from .components import Exchange
from .errors import BadRequest
from .retrieval import Retrieval
from .retrieval.openai_responses import followed
from .settings import Settings
from .store import Store

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
    """Runs the core on compressible routes, with the core options from the settings.

    With a store, what the core elided is kept there (in the caller's partition), and cache mode
    gets back the ids this caller sent compressed before. With a `Retrieval`, the retrieve tool is
    added to requests that hold a retrievable marker.
    """

    def __init__(self, settings: Settings, store: Store | None = None, retrieval: Retrieval | None = None) -> None:
        self.config: Config = settings.config
        self.is_enabled = settings.optimize
        self.store = store
        self.retrieval = retrieval

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
        x.body_bytes = len(decoded)
        try:
            body = _decode(decoded)
        except msgspec.DecodeError as exc:
            raise BadRequest(f"request body: expected JSON, got invalid JSON ({exc})") from None
        if isinstance(body, dict):
            model = body.get("model")
            # Gemini and Bedrock name the model in the path (forward.begin), not the body.
            x.model = model if isinstance(model, str) else x.model
            x.is_stream = body.get("stream") is True or x.is_stream
        link = await self._link(x, body)
        previously = await self._previously_compressed(x)
        result = await self._compress(x, wire, body, previously)
        changed = result is not None and result.changed
        out_body = result.body if result is not None and changed else body
        if link is not None:  # after compressing: what it adds is retrieved text, never compressed again
            out_body, changed = followed(out_body, *link), True
        if changed and self.store is not None:
            self.store.save(x.partition, result.originals, result.compressed_ids)  # type: ignore[union-attr]
        if self.retrieval is not None and (with_tool := self.retrieval.inject(x, out_body, result, decoded)) is not None:
            out_body, changed = with_tool, True
        is_stripping = wire is Wire.OPENAI_CHAT and x.is_stream and _lacks_usage_option(out_body)
        if is_stripping:
            if not changed and b'"stream_options"' not in decoded:
                content = _with_include_usage(decoded)
                return Prepared(content, out_body, content_encoding is not None, True)
            out_body = {**out_body, "stream_options": {**(out_body.get("stream_options") or {}), "include_usage": True}}
            changed = True
        content = _encode(out_body) if changed else decoded
        return Prepared(content, out_body, content_encoding is not None, is_stripping)

    async def _link(self, x: Exchange, body: Any) -> tuple[str, list[Any]] | None:
        """OpenAI Responses: a request continuing a response whose retrieval rounds the client never
        saw continues the last round instead (retrieval/openai_responses.py `followup`)."""
        previous = body.get("previous_response_id") if isinstance(body, dict) else None
        if self.store is None or self.retrieval is None or x.route.wire is not Wire.OPENAI_RESPONSES or not isinstance(previous, str):
            return None
        return await self.store.followup(x.partition, previous)

    async def _previously_compressed(self, x: Exchange) -> frozenset[str]:
        """Cache mode: the ids this caller sent compressed before, so they go compressed again."""
        if self.store is None or self.config.mode is not Mode.CACHE:
            return frozenset()
        return await self.store.compressed_ids(x.partition)

    async def _compress(self, x: Exchange, wire: Wire, body: Any, previously: frozenset[str]) -> Result | None:
        started = time.perf_counter()
        try:
            if x.body_bytes > _THREAD_BYTES:
                result = await anyio.to_thread.run_sync(self._run, body, wire, x.model, previously)
            else:
                result = self._run(body, wire, x.model, previously)
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

    def _run(self, body: Any, wire: Wire, model: str | None = None, previously: frozenset[str] = frozenset()) -> Result:
        return compress_request(body, wire=wire, model=model, config=self.config, previously_compressed=previously)

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
