"""The AWS event-stream decoder, against frames the fake upstream encodes on its own."""

from __future__ import annotations

import pytest

from headroom_proxy.eventstream import (
    EventStreamDecoder,
    EventStreamError,
    encode_message,
)
from tests.support.fake_upstream import eventstream_message

HEADERS = {":event-type": "chunk", ":content-type": "application/json", ":message-type": "event"}


def test_messages_split_anywhere_are_reassembled() -> None:
    stream = eventstream_message(HEADERS, b'{"bytes":"e30="}') + eventstream_message({":event-type": "chunk"}, b"")
    for cut in range(len(stream) + 1):
        decoder = EventStreamDecoder()
        messages = decoder.feed(stream[:cut]) + decoder.feed(stream[cut:])
        assert [m.payload for m in messages] == [b'{"bytes":"e30="}', b""]
        assert messages[0].header(":message-type") == "event"
        assert not decoder.has_partial


def test_encoder_matches_an_independent_one() -> None:
    assert encode_message(HEADERS, b"payload") == eventstream_message(HEADERS, b"payload")


def test_typed_headers_are_decoded() -> None:
    # name "n", type 4 (int32) value 7; name "b", type 0 (true); name "u", type 9 (uuid)
    import struct
    import zlib

    headers = b"\x01n\x04" + struct.pack(">i", 7) + b"\x01b\x00" + b"\x01u\x09" + bytes(range(16))
    prelude = struct.pack(">II", 12 + len(headers) + 4, len(headers))
    head = prelude + struct.pack(">I", zlib.crc32(prelude)) + headers
    (message,) = EventStreamDecoder().feed(head + struct.pack(">I", zlib.crc32(head)))
    assert message.headers["n"] == 7 and message.headers["b"] is True
    assert str(message.headers["u"]) == "00010203-0405-0607-0809-0a0b0c0d0e0f"


@pytest.mark.parametrize("flip", [2, 9, 20, -1])
def test_corruption_is_detected(flip: int) -> None:
    frame = bytearray(eventstream_message(HEADERS, b'{"bytes":"e30="}'))
    frame[flip] ^= 0x01
    with pytest.raises(EventStreamError):
        EventStreamDecoder().feed(bytes(frame))
