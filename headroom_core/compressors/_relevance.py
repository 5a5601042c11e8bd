"""Query relevance for line-shaped output: BM25 over the lines themselves, plus exact anchors.

Shared by the search, listing and diff compressors. IDF comes from the segment's own lines, so a
word every line holds (the grep pattern, the project root) weighs nothing. Anchors are the exact
identifiers of the query (paths, dotted or snake_case names, quoted strings); one that appears in
too many lines is not discriminating and stops being an anchor. Knows nothing of any format.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from typing import Sequence

# Bounded work per line: only the start of a very long line is scored.
_SCAN_CHARS = 400
_WORD = re.compile(r"[A-Za-z0-9_]+")
_CAMEL = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")
_QUOTED = re.compile(r"\"([^\"\n]{2,80})\"|'([^'\n]{2,80})'|`([^`\n]{2,80})`")
_TOKEN = re.compile(r"[^\s\"'`(),;{}\[\]<>=]+")
_IDENTIFIER_HINT = re.compile(r"[_./\\:]|[a-z][A-Z]|[A-Za-z][0-9]|[0-9][A-Za-z]")
_TRIM = ".,;:!?)"
_STOP = frozenset(
    "a an and are as at be but by can do does for from has have how i if in into is it its me my "
    "no not of on or our please should so that the their then there these this to up us was we what "
    "when where which who why will with you your show find look see get make let use used tell give "
    "file files line lines code true false none null".split()
)
_K1 = 1.2
_B = 0.75
# An anchor found in more than this share of lines (and more than a few) is not an anchor.
_ANCHOR_MAX_SHARE = 0.5
_ANCHOR_MIN_LINES = 4


@dataclass(frozen=True, slots=True)
class Query:
    terms: frozenset[str]
    anchors: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.terms or self.anchors)


@functools.lru_cache(maxsize=1024)
def parse_query(text: str) -> Query:
    """The lowercase terms and the exact anchors of a query (both sorted, so output is stable)."""
    text = text[:4000]
    terms = frozenset(w for w in words(text) if len(w) > 1 and w not in _STOP and not w.isdigit())
    anchors: set[str] = set()
    for match in _QUOTED.finditer(text):
        quoted = next(g for g in match.groups() if g is not None).strip()
        if sum(c.isalnum() for c in quoted) >= 3:
            anchors.add(quoted.lower())
    for match in _TOKEN.finditer(text):
        token = match.group().rstrip(_TRIM).lstrip("./")
        if sum(c.isalnum() for c in token) >= 3 and _IDENTIFIER_HINT.search(token):
            anchors.add(token.lower())
    return Query(terms=terms, anchors=tuple(sorted(anchors)))


def words(text: str) -> list[str]:
    """Lowercase words of `text`: whole identifiers and their snake_case and camelCase parts."""
    out: list[str] = []
    for match in _WORD.finditer(text, 0, _SCAN_CHARS if len(text) > _SCAN_CHARS else len(text)):
        word = match.group()
        out.append(word.lower())
        parts = [p for piece in word.split("_") for p in _CAMEL.findall(piece)]
        if len(parts) > 1:
            out.extend(p.lower() for p in parts)
    return out


def discriminating_anchors(query: Query, lines: Sequence[str]) -> tuple[str, ...]:
    """The query's anchors that pick out a minority of `lines` (matched case-insensitively)."""
    if not query.anchors:
        return ()
    lowered = [line[:_SCAN_CHARS].lower() for line in lines]
    limit = max(_ANCHOR_MIN_LINES, int(len(lines) * _ANCHOR_MAX_SHARE))
    kept = []
    for anchor in query.anchors:
        hits = sum(1 for line in lowered if anchor in line)
        if 0 < hits <= limit:
            kept.append(anchor)
    return tuple(kept)


def has_anchor(line: str, anchors: Sequence[str]) -> bool:
    if not anchors:
        return False
    lowered = line[:_SCAN_CHARS].lower()
    return any(anchor in lowered for anchor in anchors)


def bm25(docs: Sequence[Sequence[str]], terms: frozenset[str]) -> list[float]:
    """BM25 of each document (a list of words) for `terms`, with IDF from `docs` themselves."""
    if not terms or not docs:
        return [0.0] * len(docs)
    df: dict[str, int] = {}
    for doc in docs:
        for word in set(doc) & terms:
            df[word] = df.get(word, 0) + 1
    if not df:
        return [0.0] * len(docs)
    n = len(docs)
    idf = {word: math.log(1.0 + (n - count + 0.5) / (count + 0.5)) for word, count in df.items()}
    avg = sum(len(doc) for doc in docs) / n or 1.0
    scores = []
    for doc in docs:
        score = 0.0
        norm = _K1 * (1.0 - _B + _B * len(doc) / avg)
        counts: dict[str, int] = {}
        for word in doc:
            if word in idf:
                counts[word] = counts.get(word, 0) + 1
        for word, tf in counts.items():
            score += idf[word] * tf * (_K1 + 1.0) / (tf + norm)
        scores.append(score)
    return scores
