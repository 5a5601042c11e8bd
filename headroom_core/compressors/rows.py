"""Row selection: which elements of a large array (or rows of a table) to keep, and why.

One saliency score per row from field-aware signals: rare values of status-like fields (errors),
numeric outliers by robust z-score, relevance to the query (BM25 with IDF from the rows themselves,
exact identifiers as hard keeps; the query itself comes from `_relevance`) and position (the first
and last rows). Knows nothing of how rows are rendered beyond the short gap markers between kept
rows; the JSON crusher and the table compressor share it.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ..markers import marker
from ._relevance import Query, anchors_in, bm25, words

# Default share of rows kept, and its floor and cap; an explicit target_ratio lifts the cap.
DEFAULT_KEEP_RATIO = 0.2
MIN_KEEP = 10
MAX_KEEP = 40
# Arrays shorter than this are never row-selected (lossless only).
MIN_ROWS = 16

# Order of the kept categories in a marker; each kept row counts once, under its first category.
CATEGORIES = ("errors", "rare values", "query", "outliers", "boundary")

# Field names (split on _, -, . and camelCase) whose values are statuses: a rare value is an event.
_STATUS_WORDS = frozenset(
    "status state level severity code result outcome conclusion error errors err exception ok success "
    "succeeded failed failure passed health exit rc stat phase ready".split()
)
# A value of a status-like field that reads as a failure.
_ERRORISH = re.compile(
    r"\b(?:err|error|errors|errored|fail|failed|failure|failing|fatal|critical|crit|crash|crashed|panic|"
    r"exception|denied|rejected|refused|timeout|timed.out|abort|aborted|unhealthy|degraded|down|invalid|"
    r"emerg|alert|severe|killed|oom|broken)\b",
    re.IGNORECASE,
)
_NAME_PART = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")
_ID_NAME = re.compile(r"(?:^|[_\-.])(?:id|uuid|guid|sha|hash|key|index|idx)$|Id$|ID$", re.IGNORECASE)
# A categorical field has few distinct values; a rare one covers at most this share of rows.
_MAX_CATEGORIES = 12
_RARE_SHARE = 0.1
# A yes/no field has only two values, so its rarer one may be more common and still be the news.
_RARE_FLAG_SHARE = 0.25
# Robust z-score (0.6745 * |x - median| / MAD) above which a number is an outlier.
_OUTLIER_Z = 3.5
_MAX_ANCHOR_SHARE = 0.25

Scalar = Any  # None | bool | int | float | str


@dataclass(frozen=True, slots=True)
class Selection:
    """Which rows to keep (indexes, ascending) and how many of them each reason kept."""

    total: int
    kept: tuple[int, ...]
    kept_by: tuple[tuple[str, int], ...]
    # Counts of the dropped rows by the value of the main status-like field, when there is one.
    dropped_by_field: str | None = None
    dropped_by: tuple[tuple[str, int], ...] = ()

    @property
    def dropped(self) -> int:
        return self.total - len(self.kept)

    def summary(self, unit: str) -> str:
        """'480 of 500 rows elided (kept 20: 3 errors, 13 query, 4 boundary)' plus what the dropped rows were."""
        kept = ", ".join(f"{n} {name}" for name, n in self.kept_by)
        text = f"{self.dropped} of {self.total} {unit} elided (kept {len(self.kept)}: {kept})"
        if self.dropped_by_field is not None and self.dropped_by:
            counts = ", ".join(f"{n} {value}" for value, n in self.dropped_by)
            text += f"; elided by {self.dropped_by_field}: {counts}"
        return text


def flatten_row(value: Any) -> dict[str, Scalar]:
    """A row as field -> scalar: nested objects give dotted names, lists of scalars a tuple; a scalar row is `value`."""
    out: dict[str, Scalar] = {}
    if isinstance(value, dict):
        _flatten(value, "", out)
    else:
        out["value"] = value if not isinstance(value, list) else _list_scalar(value)
    return out


def keep_count(total: int, target_ratio: float | None) -> int:
    """How many of `total` rows to keep before hard keeps: ~20% within [10, 40] by default."""
    if target_ratio is None:
        return min(total, max(MIN_KEEP, min(MAX_KEEP, math.ceil(total * DEFAULT_KEEP_RATIO))))
    return min(total, max(MIN_KEEP, math.ceil(total * target_ratio)))


def select_rows(rows: Sequence[Mapping[str, Scalar]], query: Query, target_ratio: float | None = None) -> Selection | None:
    """The rows worth keeping, or None when the array is too small or keeping nearly all of it.

    >>> from headroom_core.compressors._relevance import query_of
    >>> rows = [{"id": i, "status": "ok"} for i in range(100)]
    >>> rows[57]["status"] = "error"
    >>> s = select_rows(rows, query_of("why did 31 fail?"))
    >>> 57 in s.kept, s.summary("rows")
    (True, '80 of 100 rows elided (kept 20: 1 errors, 19 boundary); elided by status: 80 ok')
    """
    total = len(rows)
    budget = keep_count(total, target_ratio)
    if total < MIN_ROWS or budget >= total * 0.8:
        return None
    errors, rare, status_field = _rare_status_rows(rows)
    outliers = _outlier_scores(rows)
    anchored, relevance = _query_scores(rows, query, budget)
    head = min(3, max(1, budget // 5))
    tail = min(2, max(1, budget // 8))
    boundary = set(range(head)) | set(range(total - tail, total))

    score = [0.0] * total
    for i in range(total):
        score[i] = (
            8.0 * (i in errors)
            + 4.0 * (i in rare)
            + 8.0 * (i in anchored)
            + 3.0 * relevance.get(i, 0.0)
            + 2.0 * min(outliers.get(i, 0.0), 1.0)
            + 1.5 * (i in boundary)
        )
    hard = sorted(errors | anchored, key=lambda i: (-score[i], i))[: 2 * budget]
    chosen = set(hard)
    for i in sorted((i for i in range(total) if score[i] > 0 and i not in chosen), key=lambda i: (-score[i], i)):
        if len(chosen) >= max(budget, len(hard)):
            break
        chosen.add(i)
    # The rest of the budget extends the first and last rows: contiguous, so it costs no extra markers.
    boundary |= _extend_ends(total, budget - len(chosen), chosen)
    chosen |= boundary
    if len(chosen) >= total * 0.9:
        return None

    reasons = (
        ("errors", errors),
        ("rare values", rare),
        ("query", anchored | relevance.keys()),
        ("outliers", outliers.keys()),
        ("boundary", boundary),
    )
    counts = dict.fromkeys(CATEGORIES, 0)
    for i in chosen:
        counts[next(name for name, members in reasons if i in members)] += 1
    kept_by = tuple((name, counts[name]) for name in CATEGORIES if counts[name])
    dropped_by: tuple[tuple[str, int], ...] = ()
    if status_field is not None:
        tally: dict[str, int] = {}
        for i in range(total):
            if i not in chosen:
                value = _label(rows[i].get(status_field))
                tally[value] = tally.get(value, 0) + 1
        if len(tally) <= 6:
            dropped_by = tuple(sorted(tally.items(), key=lambda kv: (-kv[1], kv[0])))
    return Selection(
        total=total,
        kept=tuple(sorted(chosen)),
        kept_by=kept_by,
        dropped_by_field=status_field if dropped_by else None,
        dropped_by=dropped_by,
    )


def with_gaps(kept_lines: Sequence[str], selection: Selection, unit: str, first_number: int = 0) -> list[str]:
    """The kept lines with a short marker wherever rows between them were dropped.

    Rows are numbered from `first_number`: 0 for the indexes of a JSON array, 1 for the rows of a table.

    >>> s = Selection(total=6, kept=(0, 4), kept_by=(("boundary", 2),))
    >>> with_gaps(["a", "e"], s, "rows", first_number=1)
    ['a', '[[headroom: rows 2-4 elided]]', 'e', '[[headroom: row 6 elided]]']
    """
    out: list[str] = []
    previous = -1
    for line, index in zip(kept_lines, selection.kept):
        if index > previous + 1:
            out.append(_gap(previous + 1 + first_number, index - 1 + first_number, unit))
        out.append(line)
        previous = index
    if previous < selection.total - 1:
        out.append(_gap(previous + 1 + first_number, selection.total - 1 + first_number, unit))
    return out


def _gap(first: int, last: int, unit: str) -> str:
    if first == last:
        return marker(f"{unit.rstrip('s')} {first} elided", None)
    return marker(f"{unit} {first}-{last} elided", None)


def _flatten(value: dict[str, Any], prefix: str, out: dict[str, Scalar]) -> None:
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, dict):
            _flatten(item, name + ".", out)
        elif isinstance(item, list):
            out[name] = _list_scalar(item)
        else:
            out[name] = item


def _list_scalar(items: list[Any]) -> tuple[str, ...]:
    return tuple(v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, separators=(",", ":")) for v in items)


def _is_status_name(name: str) -> bool:
    last = name.rsplit(".", 1)[-1]
    parts = {p.lower() for piece in re.split(r"[_\-\s]", last) for p in _NAME_PART.findall(piece)}
    return bool(parts & _STATUS_WORDS) and not parts & {"count", "total", "num", "message", "msg", "at", "time", "url"}


def _is_flag(rows: Sequence[Mapping[str, Scalar]], name: str) -> bool:
    """A field that holds only true/false (where present): any yes/no field is a status."""
    values = [row[name] for row in rows if name in row]
    return bool(values) and all(isinstance(v, bool) for v in values)


def _label(value: Scalar) -> str:
    if isinstance(value, str):
        return value if value else '""'
    if isinstance(value, tuple):
        return "[" + ",".join(value) + "]"
    return json.dumps(value)


def _is_errorish(name: str, value: Scalar) -> bool:
    if value is False:
        return True
    if isinstance(value, int) and not isinstance(value, bool):
        last = name.rsplit(".", 1)[-1].lower()
        if "status" in last or last.endswith("code"):
            return value >= 400 or (last in ("exit_code", "exitcode", "returncode", "rc") and value != 0)
        return False
    return isinstance(value, str) and _ERRORISH.search(value) is not None


def _rare_status_rows(rows: Sequence[Mapping[str, Scalar]]) -> tuple[set[int], set[int], str | None]:
    """Rows holding a rare value of a status-like field: failure-like ones, other rare ones, the main field."""
    total = len(rows)
    names = dict.fromkeys(name for row in rows for name in row)
    fields = [
        name for name in names if (name == "value" and name in rows[0]) or _is_status_name(name) or _is_flag(rows, name)
    ]
    errors: set[int] = set()
    rare: set[int] = set()
    main: tuple[int, str] | None = None
    for name in fields:
        last = name.rsplit(".", 1)[-1].lower()
        presence = last in ("error", "errors", "err", "exception")
        is_status = name == "value" or _is_status_name(name)
        tally: dict[Any, list[int]] = {}
        for i, row in enumerate(rows):
            value = row.get(name)
            if presence:
                value = bool(value)
            elif isinstance(value, float) or (name == "value" and not isinstance(value, (str, bool))):
                tally = {}
                break
            key = value if not isinstance(value, dict) else None
            tally.setdefault(key, []).append(i)
        if len(tally) > _MAX_CATEGORIES and not presence and name != "value":
            # Free-text statuses ("Up 2 hours", "Exited (1) 3 days ago") fall into categories by their first word.
            tally = _by_first_word(tally)
        if not 2 <= len(tally) <= _MAX_CATEGORIES or sum(1 for row in rows if name in row) < total // 2:
            continue
        common = max(len(members) for members in tally.values())
        share = _RARE_FLAG_SHARE if all(isinstance(v, bool) for v in tally) else _RARE_SHARE
        for value, members in tally.items():
            if len(members) > share * total or len(members) == common:
                continue
            if presence:
                (errors if value is True else rare).update(members)
                continue
            for i in members:
                # `ok: false` is a failure; `active: false` is only rare.
                is_error = is_status and _is_errorish(name, rows[i].get(name))
                (errors if is_error else rare).add(i)
        if name != "value" and (main is None or len(tally) < main[0]):
            main = (len(tally), name)
    rare -= errors
    return errors, rare, main[1] if main else None


def _by_first_word(tally: dict[Any, list[int]]) -> dict[Any, list[int]]:
    out: dict[Any, list[int]] = {}
    for value, members in tally.items():
        key = value.split(None, 1)[0] if isinstance(value, str) and value.strip() else value
        out.setdefault(key, []).extend(members)
    return out


def _outlier_scores(rows: Sequence[Mapping[str, Scalar]]) -> dict[int, float]:
    """Rows with a number far from its field's median (robust z-score), scored 0..1; capped to the strongest few."""
    total = len(rows)
    names = [n for n, v in rows[0].items() if _is_number(v) and not _ID_NAME.search(n)]
    scores: dict[int, float] = {}
    for name in names:
        values = [(i, row.get(name)) for i, row in enumerate(rows)]
        numbers = [(i, float(v)) for i, v in values if _is_number(v)]
        if len(numbers) < total // 2 or len({v for _, v in numbers}) < 5:
            continue
        ordered = sorted(v for _, v in numbers)
        median = _median(ordered)
        mad = _median(sorted(abs(v - median) for v in ordered))
        if mad == 0:
            continue
        for i, v in numbers:
            z = 0.6745 * abs(v - median) / mad
            if z > _OUTLIER_Z:
                scores[i] = max(scores.get(i, 0.0), min(1.0, z / (4 * _OUTLIER_Z)) + 0.5)
    limit = max(2, keep_count(total, None) // 4)
    strongest = sorted(scores, key=lambda i: (-scores[i], i))[:limit]
    return {i: scores[i] for i in strongest}


def _query_scores(rows: Sequence[Mapping[str, Scalar]], query: Query, budget: int) -> tuple[set[int], dict[int, float]]:
    """Rows holding an exact identifier of the query (hard keeps), and BM25 relevance of the others, 0..1."""
    if not query:
        return set(), {}
    texts = [" ".join(_text(v) for v in row.values()) for row in rows]
    anchored: set[int] = set()
    if query.anchors:
        hits: dict[str, list[int]] = {}
        for i, text in enumerate(texts):
            for found in anchors_in(text, query.anchors):
                hits.setdefault(found, []).append(i)
        limit = max(budget, int(len(rows) * _MAX_ANCHOR_SHARE))
        for members in hits.values():
            if len(members) <= limit:
                anchored.update(members)
    relevance: dict[int, float] = {}
    if query.terms:
        # Only rows holding some query term as a substring can score; the others are not tokenized.
        lowered = [text.lower() for text in texts]
        docs = [
            [w for v in row.values() for w in words(_text(v))] if any(t in low for t in query.terms) else []
            for row, low in zip(rows, lowered)
        ]
        total = len(rows)
        # A term in more than half the rows says nothing about which row is meant.
        sets = [set(doc) for doc in docs]
        df = {t: sum(1 for doc in sets if t in doc) for t in query.terms}
        terms = frozenset(t for t, n in df.items() if 0 < n <= total // 2)
        scores = bm25(docs, terms, query.weak_terms)
        best = max(scores, default=0.0)
        if best > 0:
            for i, s in enumerate(scores):
                if s >= 0.3 * best and i not in anchored:
                    relevance[i] = s / best
    return anchored, relevance


def _text(value: Scalar) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, tuple):
        return " ".join(value)
    if value is None or isinstance(value, bool):
        return "null" if value is None else ("true" if value else "false")
    return str(value)


def _is_number(value: Scalar) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _median(ordered: list[float]) -> float:
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _extend_ends(total: int, count: int, taken: set[int]) -> set[int]:
    """Up to `count` rows not yet taken: two thirds from the start, the rest from the end."""
    out: set[int] = set()
    if count <= 0:
        return out
    head = count - count // 3
    for i in range(total):
        if len(out) >= head:
            break
        if i not in taken:
            out.add(i)
    for i in range(total - 1, -1, -1):
        if len(out) >= count:
            break
        if i not in taken and i not in out:
            out.add(i)
    return out
