"""The core's invariants as properties over generated conversations (STYLE 7.2)."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings

from headroom_core import compress

from tests.core.conversations import conversations

_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _bytes(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def _skeleton(messages: list[dict]) -> list:
    """Everything but the text of tool results: roles, ids, pairing, thinking, cache_control, order."""
    out = []
    for m in messages:
        content = m.get("content")
        blocks = []
        if isinstance(content, list):
            for b in content:
                b = dict(b)
                if b.get("type") == "tool_result":
                    inner = b.get("content")
                    b["content"] = [{k: v for k, v in x.items() if k != "text"} for x in inner] if isinstance(inner, list) else "<text>"
                blocks.append(b)
        elif m.get("role") != "tool":
            blocks.append(content)
        out.append({**{k: v for k, v in m.items() if k != "content"}, "content": blocks})
    return out


@_SETTINGS
@given(conversations)
def test_deterministic(conv: list[dict]) -> None:
    assert _bytes(compress(conv).messages) == _bytes(compress(conv).messages)


@_SETTINGS
@given(conversations)
def test_idempotent(conv: list[dict]) -> None:
    once = compress(conv)
    again = compress(once.messages)
    assert not again.changed
    assert _bytes(again.messages) == _bytes(once.messages)


@_SETTINGS
@given(conversations)
def test_never_grows(conv: list[dict]) -> None:
    result = compress(conv)
    assert result.tokens_after <= result.tokens_before
    for d in result.decisions:
        assert d.tokens_after <= d.tokens_before
    if not result.changed:
        assert result.messages is conv


@_SETTINGS
@given(conversations)
def test_structure_and_pairing_preserved(conv: list[dict]) -> None:
    snapshot = _bytes(conv)
    result = compress(conv)
    assert _skeleton(result.messages) == _skeleton(conv)
    assert _bytes(conv) == snapshot, "the input must not be mutated"


@_SETTINGS
@given(conversations)
def test_earlier_segments_never_change(conv: list[dict]) -> None:
    outs = [compress(conv[:n], read_lifecycle=False).messages for n in range(1, len(conv) + 1)]
    for before, after in zip(outs, outs[1:]):
        assert _bytes(after[: len(before)]) == _bytes(before)


@_SETTINGS
@given(conversations)
def test_cache_mode_changes_nothing_before_the_newest_turn(conv: list[dict]) -> None:
    result = compress(conv, mode="cache")
    last_model = max(i for i, m in enumerate(conv) if m["role"] == "assistant")
    assert _bytes(result.messages[: last_model + 1]) == _bytes(conv[: last_model + 1])


@_SETTINGS
@given(conversations)
def test_cache_mode_replay_resends_what_the_provider_cached(conv: list[dict]) -> None:
    # The proxy's view: each turn, the client resends its own uncompressed history; what went out
    # compressed before must go out byte for byte the same again, and nothing else before the newest turn.
    sent: list[list[dict]] = []
    ids: set[str] = set()
    for n in range(1, len(conv) + 1):
        result = compress(conv[:n], mode="cache", previously_compressed=ids)
        ids |= result.compressed_ids
        sent.append(result.messages)
    for before, after in zip(sent, sent[1:]):
        assert _bytes(after[: len(before)]) == _bytes(before)
