"""Checks every line-shaped compressor (logs, search, listing, diff) must pass on every case."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from headroom_core import MARKER_PATTERN, count_tokens, retrieve
from headroom_core.compressors import Compressed, Context

CASES = Path(__file__).resolve().parents[2] / "cases"

Compressor = Callable[[str, Context], "Compressed | None"]


def case(kind: str, name: str) -> str:
    return (CASES / kind / name).read_text()


def assert_sound(compressor: Compressor, text: str, ctx: Context, label: str) -> Compressed:
    """Compress `text`, check the invariants, print the savings and return the result."""
    out = assert_smaller_and_stable(compressor, text, ctx, label)
    ids = {m["id"] for m in MARKER_PATTERN.finditer(out.text)}
    if out.originals:
        assert ids == {rid for rid, _ in out.originals}
        for rid, _ in out.originals:
            assert retrieve(dict(out.originals), rid) == text
    return out


def assert_smaller_and_stable(compressor: Compressor, text: str, ctx: Context, label: str) -> Compressed:
    """Compress `text`: fewer tokens, the same output again, and nothing more to do on the output.
    Prints the savings and returns the result."""
    out = compressor(text, ctx)
    assert out is not None, f"{label}: nothing compressed"
    before, after = count_tokens(text), count_tokens(out.text)
    print(f"{label}: {before} -> {after} tokens, saved {1 - after / before:.0%} ({out.reason})")
    assert after < before
    # Deterministic, and compressing the output again changes nothing (invariant 7).
    assert compressor(text, ctx) == out
    assert compressor(out.text, ctx) is None
    return out


def assert_kept_in_order(out_text: str, text: str) -> None:
    """Every line of `out_text` but its markers is a line of `text`, in the same order."""
    lines = text.split("\n")
    position = 0
    for line in non_marker_lines(out_text):
        position = lines.index(line, position) + 1  # raises when a line was invented or reordered


def non_marker_lines(text: str) -> list[str]:
    return [line for line in text.split("\n") if not MARKER_PATTERN.fullmatch(line)]


def markers(text: str) -> list[str]:
    return [m["summary"] for m in MARKER_PATTERN.finditer(text)]
