"""Token usage as the providers report it, read from a side tap of the response.

A tap watches the bytes go by and never holds them back; the one exception is `ChatUsageTap` in
strip mode, which must hide the usage chunk the proxy asked for and the client did not. Knows the
usage fields of each wire's responses and SSE events, nothing of HTTP.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec

from headroom_core import Wire

_decode = msgspec.json.Decoder().decode

# A non-streamed body larger than this is relayed without reading its usage.
MAX_JSON_TAP_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Usage:
    """What the provider billed: input tokens include cached ones, as the provider counts them."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0


class UsageTap(Protocol):
    """Watches a response body go by. `feed` returns the bytes to pass on (usually `chunk` itself)."""

    usage: Usage | None

    def feed(self, chunk: bytes) -> bytes: ...

    def flush(self) -> bytes: ...


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def usage_from(wire: Wire, payload: Any) -> Usage | None:
    """The usage in a provider's response object (or usage object) of `wire`, if it has one.

    >>> usage_from(Wire.OPENAI_CHAT, {"usage": {"prompt_tokens": 9, "completion_tokens": 2}})
    Usage(input_tokens=9, output_tokens=2, cache_read_tokens=0, cache_write_tokens=0)
    """
    if not isinstance(payload, dict):
        return None
    if wire is Wire.GEMINI:
        meta = payload.get("usageMetadata")
        if not isinstance(meta, dict):
            return None
        return Usage(_int(meta.get("promptTokenCount")), _int(meta.get("candidatesTokenCount")), _int(meta.get("cachedContentTokenCount")))
    usage = payload.get("usage")
    if not isinstance(usage, dict):
        return None
    if wire is Wire.ANTHROPIC:
        read, write = _int(usage.get("cache_read_input_tokens")), _int(usage.get("cache_creation_input_tokens"))
        return Usage(_int(usage.get("input_tokens")) + read + write, _int(usage.get("output_tokens")), read, write)
    if wire is Wire.OPENAI_CHAT:
        details = usage.get("prompt_tokens_details")
        cached = _int(details.get("cached_tokens")) if isinstance(details, dict) else 0
        return Usage(_int(usage.get("prompt_tokens")), _int(usage.get("completion_tokens")), cached)
    details = usage.get("input_tokens_details")
    cached = _int(details.get("cached_tokens")) if isinstance(details, dict) else 0
    return Usage(_int(usage.get("input_tokens")), _int(usage.get("output_tokens")), cached)


class JsonUsageTap:
    """A non-streamed body: keep a bounded side copy, and read its usage only when asked, which the
    relay does after the last byte went to the client (decoding a body is no reason to hold it back)."""

    def __init__(self, wire: Wire) -> None:
        self.wire = wire
        self._usage: Usage | None = None
        self._parts: list[bytes] | None = []
        self._size = 0
        self._is_flushed = False

    def feed(self, chunk: bytes) -> bytes:
        if self._parts is not None:
            self._size += len(chunk)
            if self._size > MAX_JSON_TAP_BYTES:
                self._parts = None
            else:
                self._parts.append(chunk)
        return chunk

    def flush(self) -> bytes:
        self._is_flushed = True
        return b""

    @property
    def usage(self) -> Usage | None:
        """None until `flush` (the body is whole only then), and when the body had no usage."""
        if self._is_flushed and self._parts:
            try:
                self._usage = usage_from(self.wire, _decode(b"".join(self._parts)))
            except msgspec.DecodeError:
                pass
            self._parts = None
        return self._usage


class SseEvents:
    """Split an SSE byte stream into whole events; a partial one waits for its next chunk.

    Splitting on bytes keeps a UTF-8 character cut between two chunks intact.
    """

    _BOUNDARY = re.compile(rb"\r\n\r\n|\n\n|\r\r")

    def __init__(self) -> None:
        self._tail = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        data = self._tail + chunk if self._tail else chunk
        events: list[bytes] = []
        start = 0
        for match in self._BOUNDARY.finditer(data):
            events.append(data[start : match.end()])
            start = match.end()
        self._tail = data[start:]
        return events

    def flush(self) -> bytes:
        tail, self._tail = self._tail, b""
        return tail


def event_data(event: bytes) -> bytes:
    """The joined `data:` lines of one SSE event."""
    lines = [line[5:].lstrip(b" ") for line in event.splitlines() if line.startswith(b"data:")]
    return b"\n".join(lines)


class _SseTap:
    """Base of the pure SSE taps: events whose data contains `needle` are parsed by `read`."""

    needle = b""

    def __init__(self) -> None:
        self.usage: Usage | None = None
        self._events = SseEvents()

    def feed(self, chunk: bytes) -> bytes:
        for event in self._events.feed(chunk):
            self._see(event)
        return chunk

    def flush(self) -> bytes:
        tail = self._events.flush()
        if tail.strip():
            self._see(tail)
        return b""

    def _see(self, event: bytes) -> None:
        if self.needle in event:
            data = event_data(event)
            try:
                self.read(_decode(data))
            except msgspec.DecodeError:
                pass

    def read(self, payload: Any) -> None:
        raise NotImplementedError


class AnthropicUsageTap(_SseTap):
    """message_start carries the input side, message_delta the running output count."""

    needle = b'"usage"'

    def read(self, payload: Any) -> None:
        if not isinstance(payload, dict):
            return
        if payload.get("type") == "message_start":
            self.usage = usage_from(Wire.ANTHROPIC, payload.get("message"))
        elif payload.get("type") == "message_delta":
            delta = usage_from(Wire.ANTHROPIC, payload)
            if delta is None:
                return
            start = self.usage or Usage()
            # message_delta's counts are cumulative; input fields appear there only sometimes.
            self.usage = Usage(
                delta.input_tokens or start.input_tokens,
                delta.output_tokens or start.output_tokens,
                delta.cache_read_tokens or start.cache_read_tokens,
                delta.cache_write_tokens or start.cache_write_tokens,
            )


class ResponsesUsageTap(_SseTap):
    """response.completed (or .incomplete / .failed) carries the whole response, usage included."""

    needle = b'"response.'

    def read(self, payload: Any) -> None:
        if isinstance(payload, dict) and payload.get("type") in ("response.completed", "response.incomplete", "response.failed"):
            self.usage = usage_from(Wire.OPENAI_RESPONSES, payload.get("response")) or self.usage


class GeminiUsageTap(_SseTap):
    """Every chunk repeats usageMetadata; the last one counts."""

    needle = b'"usageMetadata"'

    def read(self, payload: Any) -> None:
        self.usage = usage_from(Wire.GEMINI, payload) or self.usage


_USAGE_NULL = re.compile(rb'\s*,\s*"usage"\s*:\s*null|"usage"\s*:\s*null\s*,?')


class ChatUsageTap:
    """OpenAI chat: usage comes in a final chunk with empty `choices`, only if the request set
    `stream_options.include_usage`. With `is_stripping`, the proxy set it and the client did not,
    so that chunk is read and dropped, and the `"usage": null` of every other chunk removed.
    """

    def __init__(self, *, is_stripping: bool) -> None:
        self.usage: Usage | None = None
        self.is_stripping = is_stripping
        self._events = SseEvents()

    def feed(self, chunk: bytes) -> bytes:
        events = self._events.feed(chunk)
        if not self.is_stripping:
            for event in events:
                self._read(event)
            return chunk
        return b"".join(self._strip(event) for event in events)

    def flush(self) -> bytes:
        tail = self._events.flush()
        if not self.is_stripping:
            if tail.strip():
                self._read(tail)
            return b""  # already passed on by feed
        return self._strip(tail) if tail.strip() else tail

    def _read(self, event: bytes) -> bool:
        """Record usage from `event`; True when it is a usage-only chunk."""
        if b'"usage"' not in event or _USAGE_NULL.search(event):
            return False
        try:
            payload = _decode(event_data(event))
        except msgspec.DecodeError:
            return False
        self.usage = usage_from(Wire.OPENAI_CHAT, payload) or self.usage
        return isinstance(payload, dict) and payload.get("choices") == []

    def _strip(self, event: bytes) -> bytes:
        if self._read(event):
            return b""
        return _USAGE_NULL.sub(b"", event) if b'"usage"' in event else event


def tap_for(wire: Wire | None, *, is_sse: bool, is_stripping_usage: bool = False) -> UsageTap | None:
    """The tap for a response of `wire`, or None when the proxy reads no usage from it."""
    if wire is None:
        return None
    if not is_sse:
        return JsonUsageTap(wire)
    if wire is Wire.ANTHROPIC:
        return AnthropicUsageTap()
    if wire is Wire.OPENAI_CHAT:
        return ChatUsageTap(is_stripping=is_stripping_usage)
    if wire is Wire.OPENAI_RESPONSES:
        return ResponsesUsageTap()
    return GeminiUsageTap()
