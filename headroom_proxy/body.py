"""Reading a request body: bounded, and decoded from its Content-Encoding when it has one.

A body up to `max_buffer_bytes` is read whole (it can be compressed and retried). A larger one is
not buffered: it is returned as a stream that yields what was read so far and then the rest as it
arrives, so memory stays bounded whatever the size. Above `max_body_bytes` the request is refused.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import AsyncIterator

from starlette.requests import Request

from .errors import BadRequest, BodyTooLarge


def _too_large(limit: int) -> BodyTooLarge:
    return BodyTooLarge(f"request body exceeds the proxy's limit of {limit} bytes (HEADROOM max_body_bytes)")


async def read_body(request: Request, *, max_buffer_bytes: int, max_body_bytes: int) -> bytes | AsyncIterator[bytes]:
    """The whole body as bytes, or a stream of it when it is larger than `max_buffer_bytes`.

    Raises `BodyTooLarge` as soon as the declared or received size exceeds `max_body_bytes`.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit():
        if int(declared) > max_body_bytes:
            raise _too_large(max_body_bytes)
        if int(declared) > max_buffer_bytes:
            return _limited(request.stream(), [], 0, max_body_bytes)
    parts: list[bytes] = []
    size = 0
    chunks = request.stream()
    async for chunk in chunks:
        size += len(chunk)
        if size > max_body_bytes:
            raise _too_large(max_body_bytes)
        parts.append(chunk)
        if size > max_buffer_bytes:
            return _limited(chunks, parts, size, max_body_bytes)
    return b"".join(parts)


async def _limited(rest: AsyncIterator[bytes], head: list[bytes], size: int, limit: int) -> AsyncIterator[bytes]:
    for part in head:
        yield part
    head.clear()
    async for chunk in rest:
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        yield chunk


def decode_content(raw: bytes, content_encoding: str | None) -> bytes | None:
    """`raw` without its Content-Encoding (gzip, deflate), or None when the coding is one the proxy
    cannot decode (the body then goes upstream untouched, as the client sent it).

    >>> decode_content(gzip.compress(b"{}"), "gzip")
    b'{}'
    """
    if not content_encoding or content_encoding.strip().lower() == "identity":
        return raw
    out = raw
    for coding in reversed([c.strip().lower() for c in content_encoding.split(",")]):
        try:
            if coding in ("gzip", "x-gzip"):
                out = gzip.decompress(out)
            elif coding == "deflate":
                out = _inflate(out)
            elif coding != "identity":
                return None
        except (OSError, EOFError, zlib.error) as exc:
            raise BadRequest(f"request body: expected valid {coding} data, got {type(exc).__name__}") from None
    return out


def _inflate(data: bytes) -> bytes:
    try:
        return zlib.decompress(data)
    except zlib.error:
        return zlib.decompress(data, -zlib.MAX_WBITS)  # raw deflate, as some clients send it
