"""Usage taps, fed streams cut at every byte boundary (events and UTF-8 split across chunks)."""

from __future__ import annotations

import json

from headroom_core import Wire
from headroom_proxy.usage import ChatUsageTap, Usage, tap_for


def feed_split(tap: object, data: bytes, size: int) -> bytes:
    out = b"".join(tap.feed(data[i : i + size]) for i in range(0, len(data), size))  # type: ignore[attr-defined]
    return out + tap.flush()  # type: ignore[attr-defined]


def sse(data: dict[str, object], event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


ANTHROPIC = (
    sse({"type": "message_start", "message": {"usage": {"input_tokens": 10, "cache_read_input_tokens": 5, "output_tokens": 1}}}, "message_start")
    + sse({"type": "content_block_delta", "delta": {"type": "text_delta", "text": "héllo"}}, "content_block_delta")
    + sse({"type": "message_delta", "usage": {"output_tokens": 7}}, "message_delta")
)
CHAT_BASE = {"id": "c", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "é"}}]}
CHAT_WITH_USAGE = (
    sse({**CHAT_BASE, "usage": None})
    + sse({"id": "c", "object": "chat.completion.chunk", "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2}})
    + b"data: [DONE]\n\n"
)


def test_anthropic_tap_at_every_split() -> None:
    for size in (1, 2, 7, 64, len(ANTHROPIC)):
        tap = tap_for(Wire.ANTHROPIC, is_sse=True)
        assert feed_split(tap, ANTHROPIC, size) == ANTHROPIC
        assert tap is not None and tap.usage == Usage(15, 7, 5, 0)


def test_chat_tap_strips_what_the_client_did_not_ask_for() -> None:
    for size in (1, 5, 33, len(CHAT_WITH_USAGE)):
        tap = ChatUsageTap(is_stripping=True)
        out = feed_split(tap, CHAT_WITH_USAGE, size)
        assert out == sse(CHAT_BASE).replace(b", \"usage\": null", b"") + b"data: [DONE]\n\n"
        assert tap.usage == Usage(3, 2)
        assert b"usage" not in out


def test_chat_tap_reads_without_stripping() -> None:
    tap = ChatUsageTap(is_stripping=False)
    assert feed_split(tap, CHAT_WITH_USAGE, 3) == CHAT_WITH_USAGE
    assert tap.usage == Usage(3, 2)


def test_responses_and_json_taps() -> None:
    completed = sse({"type": "response.completed", "response": {"usage": {"input_tokens": 4, "output_tokens": 2}}}, "response.completed")
    tap = tap_for(Wire.OPENAI_RESPONSES, is_sse=True)
    feed_split(tap, completed, 5)
    assert tap is not None and tap.usage == Usage(4, 2)
    tap = tap_for(Wire.ANTHROPIC, is_sse=False)
    feed_split(tap, json.dumps({"usage": {"input_tokens": 8, "output_tokens": 1}}).encode(), 3)
    assert tap is not None and tap.usage == Usage(8, 1)
