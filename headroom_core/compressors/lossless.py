"""Lossless compaction: compact JSON, typed tables, folded repeats and path prefixes, each with its exact inverse."""

from __future__ import annotations

import collections
import itertools
import json
import math
import operator
import re
from collections.abc import Sequence

from ..markers import MARKER_PATTERN, is_headroom_output, lossless_header
from ..result import Action, Kind
from ..tokens import count_tokens, tokens_below
from . import Compressed, Context
from ._json import NOT_JSON as _NOT_JSON
from ._json import STRICT_DECODER as _DECODER
from ._json import Json
from ._json import compact_dumps as _dumps
from ._json import strict_loads as _loads


MIN_TABLE_ROWS = 2
MIN_REPEATS = 3
MIN_PREFIX_CHARS = 8
MIN_PREFIX_LINES = 3

_TABLE_NOTE = "cells are JSON values, bare words are strings"
_TABLE_HEADER = re.compile(
    r"\[\[headroom table(?: (?P<name>.+))?: (?P<rows>[0-9]+) rows; " + re.escape(_TABLE_NOTE) + r"\]\]"
)
# In an object with tables, each table's value in the one-line object is this string; its rows follow.
_TABLE_SLOT = "@table"
_TABLES_HEADER = lossless_header(f'json with tables: a "{_TABLE_SLOT}" value stands for the table of that key below')
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
# Bare cells that are JSON literals; [0-9], not \d, which also matches digits json rejects.
_JSON_LITERAL = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null")
_NOT_BARE = frozenset(',"\\[]{}')

_REPEATS_HEADER = lossless_header('folded: a line ending in "  [xN]" stands for N identical lines')
_FOLDED_LINE = re.compile(r"(?P<line>.*)  \[x(?P<count>[0-9]+)\]")
_FOLD_SUFFIX = re.compile(r"  \[x[0-9]+\]\Z")

_PATH_MARK = "…/"
_PATHS_HEADER = re.compile(r'\[\[headroom paths: "…/" at the start of a line stands for (?P<prefix>\S+/)\]\]')
# Only the start of a line can hold the prefix; a cap keeps huge unbroken lines linear.
_PREFIX_SCAN_CHARS = 512
# A line's deepest directory: its leading non-blank run (up to the cap) through its last slash, when
# that slash is at or after MIN_PREFIX_CHARS. Matched after each newline of "\n" + text: the
# literal newline in front lets the regex engine jump from line to line.
_LEADING_DIRECTORY = re.compile(rf"\n(\S{{{MIN_PREFIX_CHARS - 1},{_PREFIX_SCAN_CHARS - 1}}}/)")

_SURROGATE = re.compile("[\ud800-\udfff]")


def compact_json(text: str) -> str | None:
    """Pretty JSON as compact JSON with the same value, or None (not JSON, duplicate keys, NaN, not shorter).

    The value is exact (types and key order included); whitespace outside strings is not kept.

    >>> compact_json('{\\n  "a": [1, 2.0, null]\\n}')
    '{"a":[1,2.0,null]}'
    """
    value = _loads(text)
    if value is _NOT_JSON:
        return None
    out = _compact(value)
    return out if out is not None and len(out) < len(text) else None


def render_table(value: Json, *, is_decoded: bool = False) -> str | None:
    """An array of same-shaped objects (or an object holding such arrays) as a typed table, or None.

    One header line, one line of column names, one line per row; a cell is the compact JSON of its
    value, except a string that is a plain word, which is written bare. `parse_table` is the exact
    inverse: same types, same key order. `is_decoded`: `value` is what the strict JSON decoder
    returned, which makes the parse-back check cheaper.

    >>> print(render_table([{"id": 1, "name": "ada", "tag": None}, {"id": 2, "name": "", "tag": "x y"}]))
    [[headroom table: 2 rows; cells are JSON values, bare words are strings]]
    id,name,tag
    1,ada,null
    2,"",x y
    """
    try:
        if isinstance(value, dict):
            lines = _render_tables(value)
        else:
            lines = _render_section(None, value) if _is_table(value) else None
        if lines is None:
            return None
        out = "\n".join(lines)
        # The parse-back is the proof: whatever slipped past the rules above is refused here.
        is_exact = _emittable(out) and (_same_decoded if is_decoded else _same)(parse_table(out), value)
    except (ValueError, TypeError, RecursionError):  # NaN/Infinity, a value json cannot write, too deep
        return None
    return out if is_exact else None


def parse_table(text: str) -> Json:
    """The value `render_table` rendered; raises ValueError on text it did not write.

    >>> header = "[[headroom table: 2 rows; cells are JSON values, bare words are strings]]"
    >>> parse_table(header + '\\nid,ok\\n1,true\\n2,"true"')
    [{'id': 1, 'ok': True}, {'id': 2, 'ok': 'true'}]
    """
    lines = text.split("\n")
    if lines[0] != _TABLES_HEADER:
        name, rows, end = _parse_section(lines, 0)
        if name is not None or end != len(lines):
            raise ValueError("expected one unnamed table and nothing after its rows")
        return rows
    if len(lines) < 2:
        raise ValueError("expected the object line after the header")
    skeleton = _loads(lines[1])
    if not isinstance(skeleton, dict):
        raise ValueError(f"line 2: expected a JSON object, got {lines[1][:40]!r}")
    tables: dict[str, list[dict[str, Json]]] = {}
    pos = 2
    while pos < len(lines):
        name, rows, pos = _parse_section(lines, pos)
        if name is None or name in tables:
            raise ValueError(f"table {name!r}: expected a new named table")
        tables[name] = rows
    slots = [key for key, v in skeleton.items() if isinstance(v, str) and v == _TABLE_SLOT]
    if slots != list(tables):
        raise ValueError(f"tables {list(tables)} do not match the {_TABLE_SLOT} keys {slots}")
    return {key: tables.get(key, v) for key, v in skeleton.items()}


def fold_repeats(text: str) -> str | None:
    """Runs of 3 or more identical non-blank lines as one line ending in `  [xN]`, or None.

    None when no run folds, when the result is not shorter, or when a line already ends like a
    fold (so `unfold_repeats` is exact, trailing newline included).

    >>> print(fold_repeats("start\\n" + "GET /health 200 OK\\n" * 40 + "end"))
    [[headroom folded: a line ending in "  [xN]" stands for N identical lines]]
    start
    GET /health 200 OK  [x40]
    end
    """
    lines = text.split("\n")
    # Cheapest tests first (STYLE 9.4): no run of MIN_REPEATS (3) identical non-blank lines, nothing to fold.
    # Two equal neighbour pairs in a row first: map and any compare in C, so text without a run costs
    # no Python step per line.
    same_as_next = list(map(operator.eq, lines, lines[1:]))
    if not any(map(operator.and_, same_as_next, same_as_next[1:])):
        return None
    if not any(a == b == c and a.strip() for a, b, c in zip(lines, lines[1:], lines[2:])):
        return None
    if "  [x" in text and any(_FOLD_SUFFIX.search(line) for line in lines):
        return None
    out = [_REPEATS_HEADER]
    is_folded = False
    for line, run in itertools.groupby(lines):
        count = sum(1 for _ in run)
        if count >= MIN_REPEATS and line.strip():
            out.append(f"{line}  [x{count}]")
            is_folded = True
        else:
            out.extend([line] * count)
    result = "\n".join(out)
    if not is_folded or len(result) >= len(text) or not _emittable(result):
        return None
    return result


def unfold_repeats(text: str) -> str:
    """The exact text `fold_repeats` folded; raises ValueError on text it did not write.

    >>> text = "boot\\n" + "tick\\n" * 30
    >>> unfold_repeats(fold_repeats(text)) == text
    True
    """
    header, _, body = text.partition("\n")
    if header != _REPEATS_HEADER:
        raise ValueError(f"line 1: expected {_REPEATS_HEADER!r}")
    out: list[str] = []
    for line in body.split("\n"):
        match = _FOLDED_LINE.fullmatch(line)
        if match:
            out.extend([match["line"]] * int(match["count"]))
        else:
            out.append(line)
    return "\n".join(out)


def fold_path_prefix(text: str) -> str | None:
    """The directory prefix that pays most, written once in a header and as `…/` at each line's start.

    Lines that do not start with the prefix are left as they are. None when no prefix of at least
    8 characters starts 3 or more lines and shortens the text, or when a line already starts with
    `…/` (so `unfold_path_prefix` is exact).

    >>> print(fold_path_prefix("\\n".join(f"/home/ada/code/headroom/src/{f}.py:1:x" for f in "abcd")))
    [[headroom paths: "…/" at the start of a line stands for /home/ada/code/headroom/src/]]
    …/a.py:1:x
    …/b.py:1:x
    …/c.py:1:x
    …/d.py:1:x
    """
    folded = _fold_path_prefix(text)
    return None if folded is None else folded[0]


def unfold_path_prefix(text: str) -> str:
    """The exact text `fold_path_prefix` folded; raises ValueError on text it did not write.

    >>> header = '[[headroom paths: "…/" at the start of a line stands for /srv/app/lib/]]'
    >>> unfold_path_prefix(header + "\\n…/a.py\\nREADME")
    '/srv/app/lib/a.py\\nREADME'
    """
    header, _, body = text.partition("\n")
    match = _PATHS_HEADER.fullmatch(header)
    if match is None:
        raise ValueError(f"line 1: expected a paths header, got {header[:60]!r}")
    prefix = match["prefix"]
    return "\n".join(
        prefix + line[len(_PATH_MARK):] if line.startswith(_PATH_MARK) else line for line in body.split("\n")
    )


def compact_lossless(text: str, ctx: Context) -> Compressed | None:
    """The reversible rewrite of `text` with the fewest tokens, or None when none saves a token.

    JSON becomes a table or compact JSON; other text gets its path prefix and repeated lines folded.
    Text that already holds a headroom marker or header is left alone (invariant 7).

    >>> from headroom_core.config import Config
    >>> compact_lossless('[\\n  1,\\n  2,\\n  3\\n]', Context(Config())).text
    '[1,2,3]'
    """
    return fewest_tokens(text, lossless_forms(text), ctx)


def lossless_forms(text: str) -> tuple[Compressed, ...]:
    """Every reversible rewrite of `text` that `compact_lossless` chooses from, in order of preference
    on equal token counts; none for text that already holds a headroom marker or header."""
    if is_headroom_output(text):
        return ()
    candidates: list[tuple[str, Kind, str]] = []
    if text.lstrip()[:1] in ("{", "["):
        value = _loads(text)
        if value is not _NOT_JSON:
            table = render_table(value, is_decoded=True)
            if table is not None:
                candidates.append((table, Kind.TABLE, _table_reason(value)))
            compact = _compact(value)
            if compact is not None:
                candidates.append((compact, Kind.JSON, "compact JSON"))
    if not candidates:
        candidates = _line_folds(text)
    return tuple(Compressed(text=out, kind=kind, action=Action.COMPACTED, reason=reason) for out, kind, reason in candidates)


def fewest_tokens(text: str, forms: Sequence[Compressed], ctx: Context, below: int | None = None) -> Compressed | None:
    """The first of `forms` with the fewest tokens, if that is fewer than `text` has (and than `below`).

    A form is counted only as far as it could still win (`tokens_below`): a long one that cannot is
    not counted whole."""
    if not forms:
        return None
    bound = count_tokens(text, ctx.encoding)
    if below is not None:
        bound = min(bound, below)
    best = None
    for form in forms:
        tokens = tokens_below(form.text, bound, ctx.encoding)
        if tokens is not None:
            best, bound = form, tokens
    return best


def expand_lossless(text: str) -> str:
    """Undo `compact_lossless`: line folds give back the exact text; JSON gives text of an equal value.

    A table comes back as compact JSON (the original's whitespace is not kept, its value is, with
    types and key order); compact JSON and text that holds no lossless header come back unchanged.

    >>> expand_lossless('[[headroom table: 2 rows; cells are JSON values, bare words are strings]]\\nid\\n1\\n2')
    '[{"id":1},{"id":2}]'
    """
    first = text.partition("\n")[0]
    if first == _REPEATS_HEADER:
        text = unfold_repeats(text)
        first = text.partition("\n")[0]
    if _PATHS_HEADER.fullmatch(first):
        return unfold_path_prefix(text)
    if first == _TABLES_HEADER or _TABLE_HEADER.fullmatch(first):
        return _dumps(parse_table(text))
    return text


def _line_folds(text: str) -> list[tuple[str, Kind, str]]:
    lines_before = _line_count(text)
    out: list[tuple[str, Kind, str]] = []
    folded = _fold_path_prefix(text)
    if folded is not None:
        paths, prefix = folded
        both = fold_repeats(paths)
        if both is not None:
            reason = f"folded the path prefix {prefix} and repeated lines: {lines_before} -> {_line_count(both)} lines"
            out.append((both, Kind.LISTING, reason))
        out.append((paths, Kind.LISTING, f"folded the path prefix {prefix}"))
    repeats = fold_repeats(text)
    if repeats is not None:
        out.append((repeats, Kind.LOG, f"folded repeated lines: {lines_before} -> {_line_count(repeats)} lines"))
    return out


def _line_count(text: str) -> int:
    return text.count("\n") + 1


def _fold_path_prefix(text: str) -> tuple[str, str] | None:
    if text.startswith(_PATH_MARK) or "\n" + _PATH_MARK in text:  # a line already starts like a fold
        return None
    prefix = _best_prefix(text)
    if prefix is None:
        return None
    lines = text.split("\n")
    header = lossless_header(f'paths: "{_PATH_MARK}" at the start of a line stands for {prefix}')
    body = [_PATH_MARK + line[len(prefix):] if line.startswith(prefix) else line for line in lines]
    result = "\n".join([header, *body])
    if len(result) >= len(text) or not _emittable(result):
        return None
    return result, prefix


def _table_reason(value: Json) -> str:
    if isinstance(value, list):
        return f"{len(value)} rows as a table"
    tables = sum(1 for v in value.values() if _is_table(v))
    return f"JSON object with {tables} table{'s' if tables > 1 else ''}"


def _is_table(value: Json) -> bool:
    if type(value) is not list or len(value) < MIN_TABLE_ROWS or type(value[0]) is not dict or not value[0]:
        return False
    columns = tuple(value[0])
    return all(type(row) is dict and tuple(row) == columns for row in value)


def _render_tables(value: dict[str, Json]) -> list[str] | None:
    names = [key for key, v in value.items() if _is_table(v)]
    # A plain value equal to the slot string would read back as a table: ambiguous, so refuse.
    if not names or any(isinstance(v, str) and v == _TABLE_SLOT for v in value.values()):
        return None
    skeleton = {key: _TABLE_SLOT if key in names else v for key, v in value.items()}
    lines = [_TABLES_HEADER, _dumps(skeleton)]
    for name in names:
        lines.extend(_render_section(name, value[name]))
    return lines


def _render_section(name: str | None, rows: list[dict[str, Json]]) -> list[str]:
    label = "" if name is None else " " + (name if _PLAIN_NAME.fullmatch(name) else _dumps(name))
    header = lossless_header(f"table{label}: {len(rows)} rows; {_TABLE_NOTE}")
    lines = [header, ",".join(map(_cell, rows[0]))]
    lines.extend(",".join(map(_cell, row.values())) for row in rows)
    return lines


def _parse_section(lines: list[str], pos: int) -> tuple[str | None, list[dict[str, Json]], int]:
    match = _TABLE_HEADER.fullmatch(lines[pos])
    if match is None:
        raise ValueError(f"line {pos + 1}: expected a table header, got {lines[pos][:60]!r}")
    label = match["name"]
    name = label if label is None or not label.startswith('"') else _loads(label)
    if label is not None and not (isinstance(name, str) and (label.startswith('"') or _PLAIN_NAME.fullmatch(label))):
        raise ValueError(f"line {pos + 1}: bad table name {label!r}")
    count = int(match["rows"])
    if pos + 2 + count > len(lines):
        raise ValueError(f"line {pos + 1}: the header promises {count} rows, fewer follow")
    columns = _parse_cells(lines[pos + 1])
    if not all(isinstance(c, str) for c in columns) or len(set(columns)) != len(columns):
        raise ValueError(f"line {pos + 2}: expected distinct column names")
    rows = []
    for number in range(pos + 2, pos + 2 + count):
        cells = _parse_cells(lines[number])
        if len(cells) != len(columns):
            raise ValueError(f"line {number + 1}: expected {len(columns)} cells, got {len(cells)}")
        rows.append(dict(zip(columns, cells)))
    return name, rows, pos + 2 + count


def _cell(value: Json) -> str:
    if isinstance(value, str) and _is_bare(value):
        return value
    return _dumps(value)


def _is_bare(text: str) -> bool:
    return (
        text != ""
        and text[0] != " "
        and text[-1] != " "
        and text.isprintable()
        and _NOT_BARE.isdisjoint(text)
        and _JSON_LITERAL.fullmatch(text) is None
    )


def _parse_cells(line: str) -> list[Json]:
    cells: list[Json] = []
    pos, end = 0, len(line)
    while True:
        if pos < end and line[pos] in '"[{':
            value, pos = _DECODER.raw_decode(line, pos)
        else:
            stop = line.find(",", pos)
            stop = end if stop < 0 else stop
            token = line[pos:stop]
            if not token:
                raise ValueError(f"empty cell at column {pos} of {line[:60]!r}")
            value = json.loads(token) if _JSON_LITERAL.fullmatch(token) else token
            pos = stop
        cells.append(value)
        if pos == end:
            return cells
        if line[pos] != ",":
            raise ValueError(f"expected ',' at column {pos} of {line[:60]!r}")
        pos += 1


def _best_prefix(text: str) -> str | None:
    # Each line counts once for every prefix of its leading token that ends in a slash at or after
    # MIN_PREFIX_CHARS: count the deepest one per line, then share the counts out to the shorter ones
    # once per distinct directory (a listing has far fewer directories than lines).
    deepest = collections.Counter(_LEADING_DIRECTORY.findall("\n" + text))
    counts: dict[str, int] = {}
    for directory, lines_in in deepest.items():
        slash = directory.find("/", MIN_PREFIX_CHARS - 1)
        while slash >= 0:
            prefix = directory[: slash + 1]
            counts[prefix] = counts.get(prefix, 0) + lines_in
            slash = directory.find("/", slash + 1)
    scored = [
        (count * (len(prefix) - len(_PATH_MARK)), len(prefix), prefix)
        for prefix, count in counts.items()
        if count >= MIN_PREFIX_LINES
    ]
    return max(scored)[2] if scored else None


def _compact(value: Json) -> str | None:
    try:
        out = _dumps(value)
    except (ValueError, TypeError, RecursionError):  # NaN/Infinity (e.g. 1e400), a value json cannot write, too deep
        return None
    if not _emittable(out) or not _same_decoded(_loads(out), value, out):
        return None
    return out


def _same(a: Json, b: Json) -> bool:
    """Equal with identical types and key order (1 != 1.0 != True here; -0.0 != 0.0). Iterative: any depth."""
    pairs = [(a, b)]
    while pairs:
        x, y = pairs.pop()
        if type(x) is not type(y):
            return False
        if type(x) is dict:
            if list(x) != list(y):
                return False
            pairs.extend((x[key], y[key]) for key in x)
        elif type(x) is list:
            if len(x) != len(y):
                return False
            pairs.extend(zip(x, y))
        elif type(x) is float:
            if x != y or math.copysign(1.0, x) != math.copysign(1.0, y):
                return False
        elif x != y:
            return False
    return True


def _same_decoded(a: Json, b: Json, b_dumped: str | None = None) -> bool:
    """`_same(a, b)` for two values the strict decoder returned (`b_dumped`: `_dumps(b)`, when known).

    Compact JSON tells such values apart exactly: every type writes differently (1, 1.0, true, "1"),
    a float as its shortest round-trip repr (-0.0 too), keys (always strings there) in order. So equal
    dumps mean the same value, and the C encoder compares in one call what `_same` walks node by node.
    Not for other values: a tuple writes like a list, an int key like a string one. NaN, infinities,
    huge ints and deep nesting raise here: `_same` decides those."""
    try:
        return _dumps(a) == (_dumps(b) if b_dumped is None else b_dumped)
    except (ValueError, TypeError, RecursionError):
        return _same(a, b)


def _emittable(text: str) -> bool:
    # Lone surrogates cannot go out as UTF-8; elision markers are not ours to write (invariant 7).
    # isascii() reads a flag of the string: ASCII text has no surrogate to look for.
    return (text.isascii() or _SURROGATE.search(text) is None) and MARKER_PATTERN.search(text) is None
