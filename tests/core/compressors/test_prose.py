"""Prose: whole sentences kept by relevance and position, line structure intact, every drop counted."""

from __future__ import annotations

import re
from pathlib import Path

from headroom_core import MARKER_PATTERN, count_tokens, retrieve
from headroom_core.compressors import Context
from headroom_core.compressors.prose import compress_prose
from headroom_core.config import Config

CASES = Path(__file__).parents[2] / "cases" / "router"
EMAIL = (CASES / "prose__prose_email_architecture.txt").read_text()
TRIGGERS = (CASES / "prose__prose_triggers.txt").read_text()


def _ctx(query: str = "", **options) -> Context:
    return Context(Config(**options), query=query)


def _plain(text: str) -> str:
    return MARKER_PATTERN.sub("", text)


def test_keeps_whole_sentences_and_the_asked_one():
    out = compress_prose(EMAIL, _ctx("How does the policy framework handle header folding?"))
    assert out is not None
    body = _plain(out.text)
    # Every kept run of text is a verbatim piece of the original.
    for piece in re.split(r"\s*\[\[headroom[^\]]*\]\]\s*", out.text):
        for line in piece.split("\n"):
            assert line.strip() in EMAIL, line
    assert "header folding" in body.lower() or "fold" in body.lower()
    assert count_tokens(out.text) < 0.75 * count_tokens(EMAIL)


def test_line_structure_and_headings_are_kept():
    out = compress_prose(EMAIL, _ctx())
    original_headings = [line for line in EMAIL.split("\n") if re.fullmatch(r"[=-]{3,}", line)]
    kept_headings = [line for line in out.text.split("\n") if re.fullmatch(r"[=-]{3,}", line)]
    assert kept_headings == original_headings
    assert out.text.count("\n") > 20  # not flattened into one line


def test_marker_counts_sentences_and_retrieves_the_original():
    out = compress_prose(TRIGGERS, _ctx())
    [(rid, original)] = out.originals
    assert original == TRIGGERS and retrieve(dict(out.originals), rid) == TRIGGERS
    head = MARKER_PATTERN.match(out.text)
    assert head and head["id"] == rid
    dropped, total = map(int, re.match(r"([0-9]+) of ([0-9]+) sentences elided", head["summary"]).groups())
    inner = 0
    for m in MARKER_PATTERN.finditer(out.text):
        found = re.search(r"\(([0-9]+) sentences?, [0-9]+ lines?\)|^([0-9]+) sentences? elided$", m["summary"])
        if found and not m["id"]:
            inner += int(found[1] or found[2])
    assert inner == dropped and 0 < dropped < total


def test_target_ratio_is_the_budget():
    loose = compress_prose(TRIGGERS, _ctx(target_ratio=0.8))
    tight = compress_prose(TRIGGERS, _ctx(target_ratio=0.3))
    assert count_tokens(tight.text) < count_tokens(loose.text) < count_tokens(TRIGGERS)


def test_short_text_and_lossless_only_are_left_alone():
    assert compress_prose("One sentence. Two sentences. Three.", _ctx()) is None
    assert compress_prose(EMAIL, Context(Config(), lossless_only=True)) is None


def test_deterministic():
    ctx = _ctx("what is a policy?")
    assert compress_prose(EMAIL, ctx) == compress_prose(EMAIL, ctx)
