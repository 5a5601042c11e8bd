"""Query relevance, shared by every compressor that chooses lines or rows: the query, BM25, anchors.

The query of a segment is the last user text before it plus the VALUES of its tool call's arguments
(never the keys: "command" or "file_path" says nothing about the output). Its terms are lowercase
words, scored with BM25 whose IDF comes from the segment's own lines or rows, so a word every line
holds (the grep pattern, the project root) weighs nothing. Its anchors are exact identifiers: paths
and the file names and node ids inside them, dotted, snake_case or camelCase names, quoted strings,
whole argument values and numbers of three or more digits. An anchor matches whole tokens only
("user4" is not in "user42", "404" is not in "1404" or "2.404"), case-insensitively; one that
appears in too many lines is not discriminating and stops being an anchor.

Every function is pure and linear in its input; a line or row is read up to `SCAN_CHARS`, so one
pathological line costs a bounded amount. Knows nothing of any content format.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import re
from dataclasses import dataclass
from typing import Sequence

# Bounded work per line or row: a longer one is read up to here (a minified blob is not a line).
SCAN_CHARS = 1 << 16
# How much of the user text and of the tool arguments' values a query reads.
_QUERY_CHARS = 4000
_MAX_ANCHORS = 64
_MIN_ANCHOR_ALNUM = 3
_MAX_VALUE_ANCHOR_CHARS = 200

_WORD = re.compile(r"[A-Za-z0-9_]+")
_chain = itertools.chain.from_iterable
_CAMEL = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")
_QUOTED = re.compile(r"\"([^\"\n]{2,80})\"|'([^'\n]{2,80})'|`([^`\n]{2,80})`")
_TOKEN = re.compile(r"[^\s\"'`(),;{}\[\]<>=]+")
_IDENTIFIER_HINT = re.compile(r"[_./\\:]|[a-z][A-Z]|[A-Za-z][0-9]|[0-9][A-Za-z]|[A-Za-z0-9]-[A-Za-z0-9]")
_NUMBER = re.compile(r"(?<![\w.])[0-9]{3,}(?:\.[0-9]+)?(?![\w])(?!\.[0-9])")
# `path:12` or `path:12:3` (a location): the path is the piece that names something.
_LOCATION = re.compile(r"(.+?)(?::[0-9]+){1,2}:?")
# A JSON string and whether a colon follows it (then it is a key): for arguments that do not parse.
_JSON_STRING = re.compile(r"\"((?:[^\"\\\n]|\\.){0,400})\"(\s*:)?")
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
    """Lowercase BM25 terms and lowercase exact anchors, both in a stable order."""

    terms: frozenset[str]
    anchors: tuple[str, ...]
    # Terms only the tool call's arguments hold: they describe the command more than any one line
    # of its output ("pip", "jq", a field name in a filter), so BM25 weighs them at half.
    weak_terms: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.terms or self.anchors)


@functools.lru_cache(maxsize=1024)
def query_of(query: str, tool_args: str | None = None) -> Query:
    """The Query of a segment: its user text and the values (not the keys) of its tool call's arguments.

    The pipeline appends the arguments to the user text; they are split off again so that only their
    values count.

    >>> q = query_of('why is user4 slow since 2024?\\n{"file_path": "/srv/app/users.py"}', '{"file_path": "/srv/app/users.py"}')
    >>> q.anchors
    ('/srv/app/users.py', '2024', 'srv/app/users.py', 'user4', 'users.py')
    >>> sorted(q.terms)
    ['app', 'py', 'since', 'slow', 'srv', 'user', 'user4', 'users']
    """
    text = query
    values: list[str] = []
    if tool_args:
        text = text.removesuffix(tool_args)
        values = _arg_values(tool_args[: 4 * _QUERY_CHARS])
    text = text[:_QUERY_CHARS]
    terms = set(_terms(text))
    strong = frozenset(terms)
    anchors: dict[str, None] = {}
    _text_anchors(text, anchors)
    used = 0
    for value in values:
        if used >= _QUERY_CHARS:
            break
        value = value[: _QUERY_CHARS - used]
        used += len(value)
        terms.update(_terms(value))
        stripped = value.strip()
        if (
            stripped
            and len(stripped) <= _MAX_VALUE_ANCHOR_CHARS
            and not any(c.isspace() for c in stripped)
            and _alnum(stripped) >= _MIN_ANCHOR_ALNUM
        ):
            anchors.setdefault(stripped.lower())
        _text_anchors(value, anchors, quoted=False)
    kept = list(anchors)[:_MAX_ANCHORS]
    return Query(terms=frozenset(terms), anchors=tuple(sorted(kept)), weak_terms=frozenset(terms) - strong)


def words(text: str) -> list[str]:
    """Lowercase words of `text` (up to SCAN_CHARS): whole identifiers and their snake_case and camelCase parts."""
    return list(_chain(map(_word_forms, _WORD.findall(text, 0, min(len(text), SCAN_CHARS)))))


@functools.lru_cache(maxsize=1 << 14)
def _word_forms(word: str) -> tuple[str, ...]:
    """A word lowercased, then its parts when it has several. Memoized: the same identifiers recur
    on line after line, so each distinct one is split once."""
    lower = word.lower()
    # Most words are one part (lowercase, UPPER, Capitalised or digits): skip the split for them.
    if lower == word:
        if word.isalpha() or word.isdigit():
            return (lower,)
    elif word.isalpha() and (word.isupper() or word[1:] == lower[1:]):
        return (lower,)
    # _CAMEL never matches "_" and looks ahead only for [a-z]: one pass over the word finds the
    # same parts as one pass per underscore-separated piece.
    parts = _CAMEL.findall(word)
    if len(parts) < 2:
        return (lower,)
    return (lower, *parts) if lower == word else (lower, *(p.lower() for p in parts))


def anchor_pattern(anchors: Sequence[str]) -> re.Pattern[str] | None:
    """One case-insensitive pattern that finds any of `anchors` as a whole token, longest first."""
    if not anchors:
        return None
    return _combined(tuple(anchors))


def anchors_in(text: str, anchors: Sequence[str]) -> tuple[str, ...]:
    """The anchors that occur in `text` (up to SCAN_CHARS) as whole tokens, in the order given.

    >>> anchors_in("user42 logged in; /api/items/404 failed", ("user4", "404", "user42"))
    ('404', 'user42')
    """
    if not anchors:
        return ()
    lowered = text[:SCAN_CHARS].lower()
    return tuple(a for a in anchors if a in lowered and _single(a).search(lowered) is not None)


def has_anchor(text: str, anchors: Sequence[str]) -> bool:
    """True when some anchor occurs in `text` as a whole token ("user4" is not in "user42")."""
    if not anchors:
        return False
    lowered = text[:SCAN_CHARS].lower()
    return any(a in lowered and _single(a).search(lowered) is not None for a in anchors)


def discriminating_anchors(query: Query, lines: Sequence[str]) -> tuple[str, ...]:
    """The query's anchors that pick out a minority of `lines` (as whole tokens, case-insensitively)."""
    return tuple(anchor_lines(query, lines))


def anchor_lines(query: Query, lines: Sequence[str]) -> dict[str, list[int]]:
    """Each discriminating anchor of the query (in the query's order) with the indexes of the lines
    that hold it, in order."""
    if not query.anchors:
        return {}
    lowered = [line[:SCAN_CHARS].lower() for line in lines]
    # An anchor in no line is in no line of the joined text either: one fast search rules it out.
    joined = "\n".join(lowered)
    limit = max(_ANCHOR_MIN_LINES, int(len(lines) * _ANCHOR_MAX_SHARE))
    kept: dict[str, list[int]] = {}
    for anchor in query.anchors:
        if anchor not in joined:
            continue
        pattern = _single(anchor)
        found: list[int] = []
        for i, line in enumerate(lowered):
            if anchor in line and pattern.search(line) is not None:
                found.append(i)
                if len(found) > limit:
                    break
        if 0 < len(found) <= limit:
            kept[anchor] = found
    return kept


def bm25(docs: Sequence[Sequence[str]], terms: frozenset[str], weak: frozenset[str] = frozenset()) -> list[float]:
    """BM25 of each document (a list of words) for `terms`, with IDF from `docs` themselves; `weak` terms count half."""
    if not terms or not docs:
        return [0.0] * len(docs)
    df: dict[str, int] = {}
    present = [terms.intersection(doc) for doc in docs]
    for found in present:
        for word in found:
            df[word] = df.get(word, 0) + 1
    if not df:
        return [0.0] * len(docs)
    n = len(docs)
    idf = {word: math.log(1.0 + (n - count + 0.5) / (count + 0.5)) * (0.5 if word in weak else 1.0) for word, count in df.items()}
    avg = sum(len(doc) for doc in docs) / n or 1.0
    scores = []
    for doc, found in zip(docs, present):
        score = 0.0
        norm = _K1 * (1.0 - _B + _B * len(doc) / avg)
        # Terms in order of first occurrence, so the float sum is the same every time.
        for word in sorted(found, key=doc.index) if len(found) > 1 else found:
            tf = doc.count(word)
            score += idf[word] * tf * (_K1 + 1.0) / (tf + norm)
        scores.append(score)
    return scores


def _terms(text: str) -> list[str]:
    return [w for w in words(text) if len(w) > 1 and w not in _STOP and not w.isdigit()]


def _text_anchors(text: str, anchors: dict[str, None], quoted: bool = True) -> None:
    """Add the anchors of free text: quoted strings, identifier-like tokens and their pieces, numbers."""
    if quoted:
        for match in _QUOTED.finditer(text):
            inner = next(g for g in match.groups() if g is not None).strip()
            if _alnum(inner) >= _MIN_ANCHOR_ALNUM:
                anchors.setdefault(inner.lower())
    for match in _TOKEN.finditer(text):
        token = match.group().rstrip(_TRIM)
        if _alnum(token) < _MIN_ANCHOR_ALNUM or not _IDENTIFIER_HINT.search(token):
            continue
        for k, piece in enumerate(_pieces(token)):
            piece = piece.rstrip(_TRIM).lstrip("./")
            if _alnum(piece) >= _MIN_ANCHOR_ALNUM and (k == 0 or _IDENTIFIER_HINT.search(piece)):
                anchors.setdefault(piece.lower())
    for match in _NUMBER.finditer(text):
        anchors.setdefault(match.group())


def _pieces(token: str) -> list[str]:
    """A token and the parts of it that name something on their own: the path of `path:12`, the
    parts of a pytest node id `a.py::Test::test_x`, the file name at the end of a path."""
    out = [token]
    location = _LOCATION.fullmatch(token)
    if location is not None:
        out.append(location.group(1))
    for part in list(out):
        if "::" in part:
            out.extend(p for p in part.split("::") if p)
    for part in list(out):
        name = part.rstrip("/").rpartition("/")[2]
        if name and name != part and _alnum(name) >= _MIN_ANCHOR_ALNUM:
            out.append(name)
    return out


def _alnum(text: str) -> int:
    return sum(1 for c in text if c.isalnum())


def _arg_values(tool_args: str) -> list[str]:
    """The string and number values of a tool call's arguments, in order; keys are never values."""
    try:
        value = json.loads(tool_args)
    except ValueError:
        if '"' not in tool_args:
            return [tool_args]
        # Cut or not JSON: quoted strings that are not followed by a colon.
        return [m.group(1) for m in _JSON_STRING.finditer(tool_args) if m.group(2) is None]
    out: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))
        elif isinstance(item, str):
            out.append(item)
        elif item is not None and not isinstance(item, bool):
            out.append(json.dumps(item))
    return out


def _bounded(anchor: str) -> str:
    """`anchor` as a regex that matches it only as a whole token.

    Word characters at an end need a non-word neighbour there; a digit at an end also refuses a
    decimal point followed by a digit (so "404" is not inside "2.404" and "1.2.3" not inside "1.2.3.4").
    An end that is punctuation ("/etc/hosts", "src/") is its own boundary: a path matches as a suffix.
    """
    body = re.escape(anchor)
    first, last = anchor[0], anchor[-1]
    if first.isalnum() or first == "_":
        body = r"(?<!\w)" + (r"(?<![0-9]\.)" if first.isdigit() else "") + body
    if last.isalnum() or last == "_":
        body += r"(?!\w)" + (r"(?!\.[0-9])" if last.isdigit() else "")
    return body


@functools.lru_cache(maxsize=4096)
def _single(anchor: str) -> re.Pattern[str]:
    return re.compile(_bounded(anchor), re.IGNORECASE)


@functools.lru_cache(maxsize=256)
def _combined(anchors: tuple[str, ...]) -> re.Pattern[str]:
    ordered = sorted(set(anchors), key=lambda a: (-len(a), a))
    return re.compile("|".join(f"(?:{_bounded(a)})" for a in ordered), re.IGNORECASE)
