"""AWS event-stream framing (`application/vnd.amazon.eventstream`), as Bedrock streams responses.

Each message is: a 12-byte prelude (total length, headers length, both big-endian u32, and the
CRC32 of those 8 bytes), the headers, the payload, and the CRC32 of everything before it. A header
is a 1-byte name length, the name, a 1-byte value type and the value. Knows the framing only,
nothing of what the payloads mean.
"""

from __future__ import annotations

import struct
import uuid
import zlib
from collections.abc import Mapping
from dataclasses import dataclass

_PRELUDE = struct.Struct(">II")
_PRELUDE_BYTES = 12
# A message larger than this is a broken stream, not a big chunk (AWS caps messages at 16 MiB).
MAX_MESSAGE_BYTES = 24 * 1024 * 1024

HeaderValue = bool | int | bytes | str | uuid.UUID


class EventStreamError(ValueError):
    """The bytes are not a well-formed event stream (bad length or CRC)."""


@dataclass(frozen=True, slots=True)
class EventMessage:
    """One decoded message: its headers (`:event-type`, `:message-type`, ...) and raw payload."""

    headers: Mapping[str, HeaderValue]
    payload: bytes

    def header(self, name: str) -> str | None:
        value = self.headers.get(name)
        return value if isinstance(value, str) else None


def _headers(data: bytes) -> dict[str, HeaderValue]:
    out: dict[str, HeaderValue] = {}
    at = 0
    while at < len(data):
        size = data[at]
        name = data[at + 1 : at + 1 + size].decode()
        at += 1 + size
        kind = data[at]
        at += 1
        value: HeaderValue
        if kind in (0, 1):
            value = kind == 0
        elif kind in (2, 3, 4, 5, 8):
            width = {2: 1, 3: 2, 4: 4, 5: 8, 8: 8}[kind]
            value = int.from_bytes(data[at : at + width], "big", signed=True)
            at += width
        elif kind in (6, 7):
            (length,) = struct.unpack_from(">H", data, at)
            raw = data[at + 2 : at + 2 + length]
            value = raw.decode() if kind == 7 else bytes(raw)
            at += 2 + length
        elif kind == 9:
            value = uuid.UUID(bytes=bytes(data[at : at + 16]))
            at += 16
        else:
            raise EventStreamError(f"header {name!r}: expected a value type 0-9, got {kind}")
        out[name] = value
    return out


class EventStreamDecoder:
    """Split a byte stream into messages; a partial message waits for its next chunk.

    >>> EventStreamDecoder().feed(encode_message({":event-type": "chunk"}, b"{}"))[0].payload
    b'{}'
    """

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, chunk: bytes) -> list[EventMessage]:
        self._buffer += chunk
        messages: list[EventMessage] = []
        while len(self._buffer) >= _PRELUDE_BYTES:
            total, headers_length = _PRELUDE.unpack_from(self._buffer)
            (prelude_crc,) = struct.unpack_from(">I", self._buffer, 8)
            if zlib.crc32(bytes(self._buffer[:8])) != prelude_crc:
                raise EventStreamError("prelude CRC mismatch")
            if total < _PRELUDE_BYTES + 4 + headers_length or total > MAX_MESSAGE_BYTES:
                raise EventStreamError(f"message length {total}: expected 16 to {MAX_MESSAGE_BYTES} bytes")
            if len(self._buffer) < total:
                break
            message = bytes(self._buffer[:total])
            del self._buffer[:total]
            (message_crc,) = struct.unpack_from(">I", message, total - 4)
            if zlib.crc32(message[:-4]) != message_crc:
                raise EventStreamError("message CRC mismatch")
            headers_end = _PRELUDE_BYTES + headers_length
            messages.append(EventMessage(_headers(message[_PRELUDE_BYTES:headers_end]), message[headers_end:-4]))
        return messages

    @property
    def has_partial(self) -> bool:
        """True when the stream stopped in the middle of a message."""
        return bool(self._buffer)


def encode_message(headers: Mapping[str, str], payload: bytes) -> bytes:
    """One message with string headers (type 7), as AWS frames it."""
    encoded = b"".join(
        bytes([len(name.encode())]) + name.encode() + b"\x07" + struct.pack(">H", len(value.encode())) + value.encode()
        for name, value in headers.items()
    )
    total = _PRELUDE_BYTES + len(encoded) + len(payload) + 4
    prelude = _PRELUDE.pack(total, len(encoded))
    head = prelude + struct.pack(">I", zlib.crc32(prelude)) + encoded + payload
    return head + struct.pack(">I", zlib.crc32(head))
