"""The benchmark corpus builds from real output here, with every needle in its own input."""

from __future__ import annotations

import json

import pytest

from benchmarks.corpus import build_corpus
from benchmarks.metrics import needle_present, structure_errors
from headroom_core import count_tokens


@pytest.fixture(scope="module")
def corpus():
    return build_corpus("quick")


def test_at_least_twelve_scenarios_in_both_shapes(corpus):
    assert len(corpus) >= 12
    assert len({s.name for s in corpus}) == len(corpus)
    assert {s.wire for s in corpus} == {"anthropic", "openai-chat"}


def test_needles_are_in_the_uncompressed_originals(corpus):
    for sc in corpus:
        assert sc.needles, sc.name
        for needle in sc.needles:
            assert needle_present(sc.messages, needle), (sc.name, needle)


def test_scenarios_are_well_formed_and_sized(corpus):
    for sc in corpus:
        assert structure_errors(sc.messages, sc.messages) == [], sc.name
        assert 2_000 <= count_tokens(json.dumps(sc.messages)) <= 100_000, sc.name
        last = sc.messages[-1]
        assert last["role"] == "user", sc.name
