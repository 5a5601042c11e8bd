"""Invariant 6: a compressor that raises leaves its segment as it was, and the call still succeeds."""

from __future__ import annotations

import json

import pytest

import headroom_core.pipeline
from headroom_core import Action, compress


def _exploding_route(text: str, ctx: object) -> None:
    raise RuntimeError("compressor bug")


def test_a_failing_compressor_keeps_the_segment_and_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    # The stand-in replaces a compressor (the far side); the pipeline under test is the real one.
    monkeypatch.setattr(headroom_core.pipeline, "route", _exploding_route)
    rows = json.dumps([{"id": i, "name": f"row number {i} of the failing case"} for i in range(300)], indent=2)
    messages = [
        {"role": "user", "content": "look"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "q", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": rows}]},
    ]
    result = compress(messages)
    assert not result.changed and result.messages is messages
    (failed,) = [d for d in result.decisions if d.action is Action.FAILED]
    assert failed.reason == "RuntimeError: compressor bug"
    assert failed.tokens_before == failed.tokens_after > 0
