"""The JSON crusher: large arrays keep their telling rows, rendered losslessly, with one marker per array.

Finds every large array (at the top or nested in objects), lets `rows.select_rows` pick the rows
to keep, renders the kept value as a table when `lossless.render_table` can (else as compact JSON
with one element per line) and puts a marker where rows went. Object keys are never dropped; long
strings are never offloaded. Small arrays are left to the lossless pass. JSON Lines (one object
per line) are row-selected too, the kept lines verbatim.
"""

from __future__ import annotations

import json
import re
from typing import Iterator

from ..markers import is_headroom_output, marker
from ..result import Kind
from . import Compressed, Context, elision
from ._json import NOT_JSON as _NOT_JSON
from ._json import Json
from ._json import compact_dumps as _dumps
from ._json import strict_loads as _loads
from .lossless import render_table
from ._relevance import query_of
from .rows import MIN_ROWS, Selection, flatten_row, select_rows, with_gaps

JsonPath = tuple[str | int, ...]

# An array must also be this big as compact JSON to be worth a marker.
MIN_ARRAY_CHARS = 800
_MAX_DEPTH = 64
_TABLE_SECTION = re.compile(r"\[\[headroom table(?: (?P<name>.+))?: (?P<rows>[0-9]+) rows; ")


def compress_json(text: str, ctx: Context) -> Compressed | None:
    """`text` with the rows of its large arrays selected (see the module docstring), or None.

    None when the text is not JSON (or JSON Lines), holds no array worth crushing, or already holds
    a headroom marker. Deterministic: the same text and context give the same bytes.

    >>> from headroom_core.config import Config
    >>> rows = [{"id": i, "status": "ok", "ms": 10 + i % 7} for i in range(300)]
    >>> rows[120]["status"] = "error"
    >>> out = compress_json(json.dumps(rows), Context(Config(), query="what happened to id 250?"))
    >>> out.reason
    '260 of 300 rows elided (kept 40: 1 errors, 1 query, 38 boundary); elided by status: 260 ok'
    >>> "120,error,11" in out.text and "250,ok,15" in out.text
    True
    """
    if ctx.lossless_only or text.lstrip()[:1] not in ("{", "[") or is_headroom_output(text):
        return None
    query = query_of(ctx.query, ctx.tool_args)
    ratio = ctx.config.target_ratio
    value = _loads(text)
    if value is _NOT_JSON:
        return _compress_json_lines(text, ctx)
    selections: dict[JsonPath, Selection] = {}
    for path, array in _large_arrays(value, (), 0):
        selection = select_rows([flatten_row(item) for item in array], query, ratio)
        if selection is not None:
            selections[path] = selection
    if not selections:
        return None
    units = {path: _unit(_at(value, path)) for path in selections}
    summaries = {path: f"{_label(path)}{s.summary(units[path])}" for path, s in selections.items()}
    reason = "; ".join(summaries[p] for p in sorted(selections, key=_path_key))

    def render(rid: str | None) -> str:
        table = _render_as_table(value, selections, summaries, units, rid)
        return table if table is not None else _render_json(value, (), selections, summaries, units, rid)

    return elision(text, render, Kind.JSON, reason, ctx)


def _compress_json_lines(text: str, ctx: Context) -> Compressed | None:
    lines = text.split("\n")
    body = [i for i, line in enumerate(lines) if line.strip()]
    if len(body) < MIN_ROWS:
        return None
    rows = []
    for i in body:
        item = _loads(lines[i])
        if not isinstance(item, dict):
            return None
        rows.append(flatten_row(item))
    selection = select_rows(rows, query_of(ctx.query, ctx.tool_args), ctx.config.target_ratio)
    if selection is None:
        return None
    summary = selection.summary("lines")

    def render(rid: str | None) -> str:
        out = [marker(summary, rid)]
        out.extend(with_gaps([lines[body[k]] for k in selection.kept], selection, "lines"))
        return "\n".join(out)

    return elision(text, render, Kind.JSON, f"JSON Lines: {summary}", ctx)


def _large_arrays(value: Json, path: JsonPath, depth: int) -> Iterator[tuple[JsonPath, list[Json]]]:
    """Arrays worth row selection, outermost first; the elements of one are not searched further."""
    if depth > _MAX_DEPTH:
        return
    if isinstance(value, list):
        if len(value) >= MIN_ROWS and len(_dumps(value)) >= MIN_ARRAY_CHARS:
            yield path, value
            return
        for i, item in enumerate(value):
            yield from _large_arrays(item, (*path, i), depth + 1)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _large_arrays(item, (*path, key), depth + 1)


def _render_as_table(
    value: Json,
    selections: dict[JsonPath, Selection],
    summaries: dict[JsonPath, str],
    units: dict[JsonPath, str],
    rid: str | None,
) -> str | None:
    """The kept value as `render_table` writes it, with the markers between its rows, or None."""
    if () in selections:
        kept: Json = [value[i] for i in selections[()].kept]
        by_name: dict[str | None, JsonPath] = {None: ()}
    elif isinstance(value, dict) and all(len(p) == 1 for p in selections):
        kept = {k: [v[i] for i in selections[(k,)].kept] if (k,) in selections else v for k, v in value.items()}
        by_name = {p[0]: p for p in selections}  # type: ignore[misc]
    else:
        return None
    table = render_table(kept)
    if table is None:
        return None
    lines = table.split("\n")
    out: list[str] = []
    done: set[JsonPath] = set()
    pos = 0
    while pos < len(lines):
        line = lines[pos]
        out.append(line)
        pos += 1
        section = _TABLE_SECTION.match(line)
        if section is None:
            continue
        name = section["name"]
        if name is not None and name.startswith('"'):
            name = json.loads(name)
        count = int(section["rows"])
        path = by_name.get(name)
        if path is None:
            continue
        selection = selections[path]
        if count != len(selection.kept):
            return None
        out.append(marker(summaries[path], rid))
        out.append(lines[pos])  # column names
        out.extend(with_gaps(lines[pos + 1 : pos + 1 + count], selection, units[path]))
        pos += 1 + count
        done.add(path)
    if done != set(selections):
        return None
    return "\n".join(out)


def _render_json(
    value: Json,
    path: JsonPath,
    selections: dict[JsonPath, Selection],
    summaries: dict[JsonPath, str],
    units: dict[JsonPath, str],
    rid: str | None,
) -> str:
    """Compact JSON, except that a selected array has one kept element per line and its markers on lines
    of their own: deleting the marker lines leaves valid JSON of the kept value."""
    selection = selections.get(path)
    if selection is not None:
        items = [_dumps(value[i]) for i in selection.kept]
        items = [item + "," for item in items[:-1]] + items[-1:]
        return "\n".join(["[", marker(summaries[path], rid), *with_gaps(items, selection, units[path]), "]"])
    if not any(p[: len(path)] == path and len(p) > len(path) for p in selections):
        return _dumps(value)
    if isinstance(value, dict):
        parts = [f"{_dumps(k)}:{_render_json(v, (*path, k), selections, summaries, units, rid)}" for k, v in value.items()]
        return "{" + ",".join(parts) + "}"
    parts = [_render_json(v, (*path, i), selections, summaries, units, rid) for i, v in enumerate(value)]
    return "[" + ",".join(parts) + "]"


def _unit(array: list[Json]) -> str:
    if all(isinstance(item, dict) for item in array):
        return "rows"
    return "items"


def _label(path: JsonPath) -> str:
    if not path:
        return ""
    text = "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else p) for i, p in enumerate(path))
    return f"{text}: "


def _path_key(path: JsonPath) -> tuple[tuple[int, str], ...]:
    return tuple((0, f"{p:012d}") if isinstance(p, int) else (1, p) for p in path)


def _at(value: Json, path: JsonPath) -> Json:
    for step in path:
        value = value[step]
    return value


