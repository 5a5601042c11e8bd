"""Tables (CSV, TSV, markdown tables, aligned columns such as `pip list`, `ps aux`, `docker ps`,
`kubectl get`, `df -h`): the header and the telling rows kept verbatim, the rest behind one marker.

Rows are chosen by `rows.select_rows`, the saliency the JSON crusher uses: boundary rows, rare
values of status-like columns, numeric outliers, and rows holding the query's exact identifiers or
scoring on its words. Cells are read only to score rows (a number, also with `%` or a size suffix
such as `1.5G`, counts as a number); what is written is the tool's own lines, byte for byte and in
their order, with one marker after the lines before the table that says how many rows went and
what was kept, and short markers where rows are missing. Tables under `rows.MIN_ROWS` rows or
`MIN_CHARS` characters are left alone. Knows nothing of wire formats or of the other content kinds.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass

from ..markers import is_headroom_output, marker
from ..result import Kind
from . import Compressed, Context, elision
from ._relevance import query_of
from .rows import MIN_ROWS, Scalar, select_rows, with_gaps

# A table must be this big to be worth a marker.
MIN_CHARS = 800
# A CSV record may span lines inside quotes, up to this many.
_MAX_RECORD_LINES = 50
# Share of records that must have the header's number of fields for the text to be CSV/TSV.
_DELIMITED_SHARE = 0.9
# Cells are read from this much of an aligned line; the last column takes the rest of it whole.
_ALIGNED_SCAN_CHARS = 2000

_MD_RULE = re.compile(r"\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)+\|?\s*$")
_ALIGNED_RULE = re.compile(r"[-=]{2,}(?:\s+[-=]{2,})*\s*")
_CELL = re.compile(r"\S+")
_INT = re.compile(r"[-+]?[0-9]{1,18}")
_FLOAT = re.compile(r"[-+]?[0-9]{0,18}\.[0-9]{1,18}")
_PERCENT = re.compile(r"([-+]?[0-9]{1,18}(?:\.[0-9]{1,18})?)%")
_SIZE = re.compile(r"([0-9]{1,18}(?:\.[0-9]{1,18})?)([KMGTP])(?:i?B)?", re.IGNORECASE)
_SIZE_FACTOR = {"K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15}


@dataclass(frozen=True, slots=True)
class _Row:
    text: str                      # the row's own line(s), verbatim
    cells: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Table:
    form: str                      # "markdown table", "CSV", "TSV", "aligned columns"
    before: tuple[str, ...]        # lines before the header, kept
    header: tuple[str, ...]        # header line(s), kept
    columns: tuple[str, ...]
    rows: tuple[_Row, ...]
    after: tuple[str, ...]         # lines after the last row, kept


def compress_table(text: str, ctx: Context) -> Compressed | None:
    """`text` with the header and the telling rows of its table kept verbatim, or None.

    None when the text is not a table this module reads, is small, already holds a marker, or
    selection would keep nearly every row. Deterministic: the same text and context give the same bytes.

    >>> from headroom_core.config import Config
    >>> rows = [f"svc-{i},{'failed' if i == 57 else 'ok'},{100 + i % 9}" for i in range(200)]
    >>> out = compress_table("name,status,latency_ms\\n" + "\\n".join(rows), Context(Config(ccr=False), query="is svc-120 up?"))
    >>> out.reason
    'CSV: 160 of 200 rows elided (kept 40: 1 errors, 1 query, 38 boundary); elided by status: 160 ok'
    >>> print("\\n".join(out.text.split("\\n")[:3]))
    [[headroom: 160 of 200 rows elided (kept 40: 1 errors, 1 query, 38 boundary); elided by status: 160 ok]]
    name,status,latency_ms
    svc-0,ok,100
    >>> "svc-57,failed,103" in out.text and "svc-120,ok,103" in out.text
    True
    """
    if ctx.lossless_only or len(text) < MIN_CHARS or is_headroom_output(text):
        return None
    table = _parse(text)
    if table is None or len(table.rows) < MIN_ROWS:
        return None
    records = [dict(zip(table.columns, (_value(cell) for cell in row.cells))) for row in table.rows]
    selection = select_rows(records, query_of(ctx.query, ctx.tool_args), ctx.config.target_ratio)
    if selection is None:
        return None
    summary = selection.summary("rows")
    kept = [table.rows[i].text for i in selection.kept]

    def render(rid: str | None) -> str:
        out = [*table.before, marker(summary, rid), *table.header]
        out.extend(with_gaps(kept, selection, "rows", first_number=1))
        out.extend(table.after)
        return "\n".join(out)

    result = elision(text, render, Kind.TABLE, f"{table.form}: {summary}", ctx)
    return result if len(result.text) < len(text) else None


def _parse(text: str) -> _Table | None:
    lines = text.split("\n")
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    if end - start <= MIN_ROWS:
        return None
    for parse in (_markdown, _delimited, _aligned):
        table = parse(lines, start, end)
        if table is not None:
            return table
    return None


def _markdown(lines: list[str], start: int, end: int) -> _Table | None:
    rule = next((i for i in range(start + 1, min(end, start + 5)) if _MD_RULE.match(lines[i])), None)
    if rule is None or not lines[rule - 1].lstrip().startswith("|"):
        return None
    stop = rule + 1
    while stop < end and lines[stop].lstrip().startswith("|"):
        stop += 1
    rows = tuple(_Row(line, _md_cells(line)) for line in lines[rule + 1 : stop])
    return _Table(
        form="markdown table",
        before=tuple(lines[: rule - 1]),
        header=(lines[rule - 1], lines[rule]),
        columns=_names(_md_cells(lines[rule - 1])),
        rows=rows,
        after=tuple(lines[stop:]),
    )


def _md_cells(line: str) -> tuple[str, ...]:
    inner = line.strip()
    inner = inner.removeprefix("|")
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    return tuple(cell.strip() for cell in inner.split("|"))


def _delimited(lines: list[str], start: int, end: int) -> _Table | None:
    header = lines[start]
    for sep, form in (("\t", "TSV"), (",", "CSV")):
        if sep not in header:
            continue
        try:
            columns = next(csv.reader([header], delimiter=sep))
            records = _records(lines, start + 1, end)
            if records is None:
                continue
            rows = tuple(_Row(record, tuple(next(csv.reader([record], delimiter=sep), []))) for record in records)
        except csv.Error:
            continue
        width = len(columns)
        if width < 2 or sum(1 for row in rows if len(row.cells) == width) < _DELIMITED_SHARE * len(rows):
            continue
        return _Table(form, tuple(lines[:start]), (header,), _names(columns), rows, tuple(lines[end:]))
    return None


def _records(lines: list[str], start: int, end: int) -> list[str] | None:
    """The lines from `start` to `end` grouped into records: a quoted field may hold line breaks."""
    records: list[str] = []
    i = start
    while i < end:
        j = i + 1
        quotes = lines[i].count('"')
        while quotes % 2 and j < end and j - i < _MAX_RECORD_LINES:
            quotes += lines[j].count('"')
            j += 1
        if quotes % 2:
            return None
        records.append("\n".join(lines[i:j]))
        i = j
    return records


def _aligned(lines: list[str], start: int, end: int) -> _Table | None:
    header = lines[start]
    spans = [(m.start(), m.end()) for m in _CELL.finditer(header)]
    if len(spans) < 2:
        return None
    body = start + 1
    if body < end and _ALIGNED_RULE.fullmatch(lines[body]):
        body += 1
    rows = tuple(_Row(line, _aligned_cells(line, spans)) for line in lines[body:end])
    return _Table(
        form="aligned columns",
        before=tuple(lines[:start]),
        header=tuple(lines[start:body]),
        columns=_names([header[s:e] for s, e in spans]),
        rows=rows,
        after=tuple(lines[end:]),
    )


def _aligned_cells(line: str, spans: list[tuple[int, int]]) -> tuple[str, ...]:
    """Each word of `line` goes to the header column it overlaps most (right-aligned numbers overlap
    their header's end), else to the column it starts in; the last column takes the rest of the line."""
    cells: list[list[str]] = [[] for _ in spans]
    last_start = spans[-1][0]
    for match in _CELL.finditer(line, 0, min(len(line), _ALIGNED_SCAN_CHARS)):
        s, e = match.span()
        column = _column(s, e, spans)
        if column == len(spans) - 1 and s >= last_start:
            cells[column].append(line[s:].rstrip())
            break
        cells[column].append(match.group())
    return tuple(" ".join(words) for words in cells)


def _column(s: int, e: int, spans: list[tuple[int, int]]) -> int:
    best, best_overlap = -1, 0
    for k, (hs, he) in enumerate(spans):
        overlap = min(e, he) - max(s, hs)
        if overlap > best_overlap:
            best, best_overlap = k, overlap
    if best >= 0:
        return best
    column = 0
    for k, (hs, _) in enumerate(spans):
        if hs <= s:
            column = k
    return column


def _names(cells: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Column names, unique and non-empty, so each cell of a row has its own field."""
    out: list[str] = []
    seen: set[str] = set()
    for k, cell in enumerate(cells):
        name = cell.strip() or f"column {k + 1}"
        while name in seen:
            name = f"{name} ({k + 1})"
        seen.add(name)
        out.append(name)
    return tuple(out)


def _value(cell: str) -> Scalar:
    """A cell as a number when it reads as one (12, 0.5, 45%, 1.5G), else its text."""
    cell = cell.strip()
    if _INT.fullmatch(cell):
        return int(cell)
    if _FLOAT.fullmatch(cell):
        return float(cell)
    percent = _PERCENT.fullmatch(cell)
    if percent is not None:
        return float(percent.group(1))
    size = _SIZE.fullmatch(cell)
    if size is not None:
        return float(size.group(1)) * _SIZE_FACTOR[size.group(2).upper()]
    return cell
