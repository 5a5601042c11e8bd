"""Prose: extractive selection of whole sentences up to `target_ratio`, line structure kept.

Paragraphs (runs of non-blank lines, a list item with its continuation lines) are cut into
sentences; sentences are ranked by BM25 relevance to the query and by position (the first of the
text and of each paragraph, the last of the text). Headings, code fences and blank lines stay;
dropped sentences become markers counting sentences and lines. Nothing is reworded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..markers import is_headroom_output, marker
from ..result import Kind
from . import Compressed, Context, elision
from ._relevance import anchor_pattern, bm25, query_of, words

DEFAULT_TARGET_RATIO = 0.5
# Floors: shorter prose is left to the lossless pass.
MIN_CHARS = 1200
MIN_SENTENCES = 10

_HEADING = re.compile(r"\s{0,3}(?:#{1,6}\s|=+\s*$|-{3,}\s*$|\*{3,}\s*$)")
_LIST_ITEM = re.compile(r"\s*(?:[-*+•]|[0-9]{1,3}[.)])\s+")
_FENCE = re.compile(r"\s{0,3}(?:```|~~~)")
# A sentence ends at . ! or ? (optionally closed by a quote or bracket) before whitespace and a capital,
# digit, quote or bracket; abbreviations like "e.g." are not ends because a lowercase word follows.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[A-Z0-9\"'(\[`*_])")


@dataclass(frozen=True, slots=True)
class _Sentence:
    start: int  # offsets into the paragraph text
    end: int
    paragraph: int


def compress_prose(text: str, ctx: Context) -> Compressed | None:
    """Keep the most telling whole sentences of long prose, about `target_ratio` of it, or None.

    >>> from headroom_core.config import Config
    >>> para = "The service starts. " + " ".join(f"Step {i} loads module m{i}." for i in range(60))
    >>> out = compress_prose(para + "\\nThe cache key is blake2b.", Context(Config(), query="which hash is the cache key?"))
    >>> out.reason, out.text.splitlines()[-1]
    ('31 of 62 sentences elided', 'The cache key is blake2b.')
    """
    if ctx.lossless_only or len(text) < MIN_CHARS or is_headroom_output(text):
        return None
    lines = text.split("\n")
    blocks = _blocks(lines)
    paragraphs = [("\n".join(lines[a:b]), a) for kind, a, b in blocks if kind == "para"]
    sentences: list[_Sentence] = []
    for p, (para, _) in enumerate(paragraphs):
        start = 0
        for match in _SENTENCE_END.finditer(para):
            sentences.append(_Sentence(start, match.start(), p))
            start = match.end()
        if para[start:].strip():
            sentences.append(_Sentence(start, len(para.rstrip()), p))
    if len(sentences) < MIN_SENTENCES:
        return None
    ratio = ctx.config.target_ratio if ctx.config.target_ratio is not None else DEFAULT_TARGET_RATIO
    kept = _select(sentences, paragraphs, blocks, lines, ctx, ratio)
    if len(kept) == len(sentences):
        return None
    dropped = len(sentences) - len(kept)
    reason = f"{dropped} of {len(sentences)} sentences elided"

    def render(rid: str | None) -> str:
        out = _render(lines, blocks, paragraphs, sentences, kept)
        note = marker(f"{reason}; kept {len(kept)} by position and relevance to the question", rid)
        return f"{note}\n{out}"

    return elision(text, render, Kind.PROSE, reason, ctx)


def _blocks(lines: list[str]) -> list[tuple[str, int, int]]:
    """(kind, first line, end line) for each run: 'keep' (headings, fences, blank lines) or 'para'."""
    blocks: list[tuple[str, int, int]] = []
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        if _FENCE.match(line):
            j = i + 1
            while j < n and not _FENCE.match(lines[j]):
                j += 1
            blocks.append(("keep", i, min(j + 1, n)))
            i = min(j + 1, n)
        elif not line.strip() or _HEADING.match(line):
            blocks.append(("keep", i, i + 1))
            i += 1
        else:
            j = i + 1
            while j < n and lines[j].strip() and not _HEADING.match(lines[j]) and not _FENCE.match(lines[j]) and not _LIST_ITEM.match(lines[j]):
                j += 1
            blocks.append(("para", i, j))
            i = j
    return blocks


def _select(
    sentences: list[_Sentence],
    paragraphs: list[tuple[str, int]],
    blocks: list[tuple[str, int, int]],
    lines: list[str],
    ctx: Context,
    ratio: float,
) -> set[int]:
    texts = [paragraphs[s.paragraph][0][s.start : s.end] for s in sentences]
    query = query_of(ctx.query, ctx.tool_args)
    relevance = bm25([words(t) for t in texts], frozenset(query.terms)) if query.terms else [0.0] * len(texts)
    best = max(relevance, default=0.0) or 1.0
    pattern = anchor_pattern(query.anchors)
    after_heading = _first_paragraphs_after_headings(blocks, lines)
    scores = []
    for i, (s, t) in enumerate(zip(sentences, texts)):
        first_of_paragraph = i == 0 or sentences[i - 1].paragraph != s.paragraph
        score = 3.0 * relevance[i] / best
        score += 4.0 if pattern is not None and pattern.search(t) else 0.0
        score += 1.5 if i == 0 else 0.0
        score += 1.0 if i == len(sentences) - 1 else 0.0
        score += 0.6 if first_of_paragraph else 0.0
        score += 0.4 if first_of_paragraph and paragraphs[s.paragraph][1] in after_heading else 0.0
        # Earlier sentences win ties slightly: introductions tend to carry the definitions.
        score += 0.2 * (1.0 - i / len(sentences))
        scores.append(score)
    budget = ratio * sum(len(t) for t in texts)
    kept: set[int] = set()
    used = 0
    for i in sorted(range(len(sentences)), key=lambda i: (-scores[i], i)):
        size = len(texts[i])
        if used + size > budget and kept:
            continue
        kept.add(i)
        used += size
    return kept


def _first_paragraphs_after_headings(blocks: list[tuple[str, int, int]], lines: list[str]) -> set[int]:
    out: set[int] = set()
    heading = False
    for kind, a, _ in blocks:
        if kind == "keep" and lines[a].strip():
            heading = True
        elif kind == "para":
            if heading:
                out.add(a)
            heading = False
    return out


def _render(
    lines: list[str],
    blocks: list[tuple[str, int, int]],
    paragraphs: list[tuple[str, int]],
    sentences: list[_Sentence],
    kept: set[int],
) -> str:
    by_paragraph: dict[int, list[int]] = {}
    for i, s in enumerate(sentences):
        by_paragraph.setdefault(s.paragraph, []).append(i)
    out: list[str] = []
    pending = [0, 0, 0, False]  # sentences, text lines, paragraphs dropped in a row; a blank line followed

    def flush() -> None:
        sentences_dropped, lines_dropped, paragraphs_dropped, blank = pending
        if sentences_dropped:
            what = f"{paragraphs_dropped} paragraphs" if paragraphs_dropped > 1 else "1 paragraph"
            counts = f"{_count(sentences_dropped, 'sentence')}, {_count(lines_dropped, 'line')}"
            out.append(marker(f"{what} elided ({counts})", None))
            if blank:
                out.append("")
        pending[:] = [0, 0, 0, False]

    p = 0
    for kind, a, b in blocks:
        if kind == "keep":
            if pending[0] and not lines[a].strip():
                # Blank lines between dropped paragraphs go with them; one comes back after the marker.
                pending[3] = True
                continue
            flush()
            out.extend(lines[a:b])
            continue
        members = by_paragraph.get(p, [])
        para = paragraphs[p][0]
        p += 1
        if not any(i in kept for i in members):
            pending[0] += len(members)
            pending[1] += b - a
            pending[2] += 1
            pending[3] = False
            continue
        flush()
        out.append(_render_paragraph(para, [sentences[i] for i in members], [i in kept for i in members]))
    flush()
    return "\n".join(out)


def _render_paragraph(para: str, sentences: list[_Sentence], kept: list[bool]) -> str:
    # Pieces are (start, end, text); a dropped run becomes one marker spanning it.
    pieces: list[tuple[int, int, str]] = []
    kept_runs: list[bool] = []
    i = 0
    while i < len(sentences):
        j = i
        while j < len(sentences) and kept[j] == kept[i]:
            j += 1
        start, end = sentences[i].start, sentences[j - 1].end
        text = para[start:end] if kept[i] else marker(f"{_count(j - i, 'sentence')} elided", None)
        pieces.append((start, end, text))
        kept_runs.append(kept[i])
        i = j
    out = pieces[0][2]
    for k in range(1, len(pieces)):
        # A line break between two pieces (or inside the dropped run before this one) stays a line break.
        previous_start, previous_end, _ = pieces[k - 1]
        start, _, text = pieces[k]
        gap = para[previous_start if not kept_runs[k - 1] else previous_end : start]
        out += ("\n" if "\n" in gap else " ") + text
    # A list item keeps its bullet even when its first sentence went.
    bullet = _LIST_ITEM.match(para)
    if bullet and not kept[0]:
        out = bullet.group() + out
    return out


def _count(n: int, unit: str) -> str:
    return f"{n} {unit}" if n == 1 else f"{n} {unit}s"
