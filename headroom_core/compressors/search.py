"""Search results (grep, rg, ag): grouped by file, the matches relevant to the query kept, capped.

Reads `path:line:text` matches, `path-line-text` context lines and `--` separators (grep -rn, rg
-n, ag), rg's heading mode (the path on its own line, then `line:text`), and `path:text` without
line numbers. Output is grouped by file in rg's heading form: the path once, then `line:text` for
matches and `line-text` for context, every kept line verbatim with its line number. Dropped
matches are counted per file and overall in markers. Knows nothing of wire formats.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ..markers import marker
from ..result import Kind
from . import Compressed, Context, compacted, elision, selectable_lines
from ._relevance import bm25, discriminating_anchors, has_anchor, query_of, words

MIN_LINES = 8
MATCHES_PER_FILE = 5
MATCHES_PER_NAMED_FILE = 40     # a file the query names keeps more
MAX_MATCHES = 40
MAX_ANCHORED = 80               # matches holding an exact identifier of the query, beyond the cap
CONTEXT_AROUND = 2              # context lines kept on each side of a kept match
MAX_OTHER_LINES = 20            # lines that are not results ("Binary file x matches", warnings)
MIN_PARSED_SHARE = 0.8

_MATCH = re.compile(r"(?P<path>(?:[A-Za-z]:[\\/])?[^:\n]*?):(?P<line>[0-9]+):(?P<text>.*)")
_CONTEXT_SPLIT = re.compile(r"-(?P<line>[0-9]+)-")
_ENTRY = re.compile(r"(?P<line>[0-9]+)(?P<sep>[:-])(?P<text>.*)")
# `path:text` (grep -r without -n). "path::name" is a pytest node id, not a match.
_NO_LINE = re.compile(r"(?P<path>[^\s:]*[./][^\s:]*):(?P<text>(?!:).*)")
_SEPARATOR = "--"


@dataclass(frozen=True, slots=True)
class _Entry:
    index: int          # line index in the original
    line: int | None    # line number in the file, when the tool printed one
    is_match: bool
    text: str           # verbatim text after the line number (or the whole raw line without numbers)


@dataclass(frozen=True, slots=True)
class _Parsed:
    files: dict[str, list[_Entry]]
    other: list[str]
    numbered: bool
    has_context: bool


def compress_search(text: str, ctx: Context) -> Compressed | None:
    """grep/rg/ag output grouped by file, relevant matches kept, per-file and overall caps with counts.

    A match holding an exact identifier of the query, or in a file the query names, is kept first;
    the rest are ranked by BM25 against the query (IDF from the matches themselves), breadth over
    files breaking ties. None when the text is not search output or nothing would change.

    >>> from headroom_core.config import Config
    >>> hits = "".join(f"src/m{i % 3}.py:{i}:x = load_{i}()\\n" for i in range(1, 31))
    >>> print(compress_search(hits, Context(Config(ccr=False), query="where is load_7 called")).text)
    src/m1.py
    1:x = load_1()
    4:x = load_4()
    7:x = load_7()
    10:x = load_10()
    13:x = load_13()
    [[headroom: 5 more matches in this file (lines 16-28)]]
    <BLANKLINE>
    src/m2.py
    2:x = load_2()
    5:x = load_5()
    8:x = load_8()
    11:x = load_11()
    14:x = load_14()
    [[headroom: 5 more matches in this file (lines 17-29)]]
    <BLANKLINE>
    src/m0.py
    3:x = load_3()
    6:x = load_6()
    9:x = load_9()
    12:x = load_12()
    15:x = load_15()
    [[headroom: 5 more matches in this file (lines 18-30)]]
    <BLANKLINE>
    [[headroom: kept 15 of 30 matches in 3 files]]
    """
    lines = selectable_lines(text, ctx, MIN_LINES)
    if lines is None:
        return None
    parsed = _parse(lines)
    if parsed is None:
        return None
    matches = [e for entries in parsed.files.values() for e in entries if e.is_match]
    if not matches:
        return None
    keep = _select(parsed, ctx)
    dropped_other = max(0, len(parsed.other) - MAX_OTHER_LINES)
    kept_matches = sum(1 for e in matches if e.index in keep)
    if kept_matches == len(matches) and not dropped_other:
        if not parsed.numbered:
            return None
        description = "grouped by file: the path once, then line:text for each match"
        return compacted(text, description, _render(parsed, keep, None, len(matches)), Kind.SEARCH, f"{len(matches)} matches grouped by file")
    files_kept = sum(1 for entries in parsed.files.values() if any(e.index in keep for e in entries))
    reason = f"kept {kept_matches} of {len(matches)} matches in {files_kept} of {len(parsed.files)} files"

    def render(rid: str | None) -> str:
        return _render(parsed, keep, rid, len(matches))

    return elision(text, render, Kind.SEARCH, reason, ctx)


def _parse(lines: list[str]) -> _Parsed | None:
    nonblank = sum(1 for line in lines if line.strip())
    for parse in (_parse_flat, _parse_heading, _parse_no_line):
        parsed = parse(lines)
        if parsed is None:
            continue
        results = sum(len(entries) for entries in parsed.files.values())
        separators = sum(1 for line in lines if line == _SEPARATOR)
        if results and results + separators >= MIN_PARSED_SHARE * nonblank:
            return parsed
    return None


def _parse_flat(lines: list[str]) -> _Parsed | None:
    found = [_MATCH.fullmatch(line) for line in lines]
    paths = {m["path"] for m in found if m is not None}
    if not paths:
        return None
    files: dict[str, list[_Entry]] = {}
    other: list[str] = []
    has_context = False
    for i, (line, m) in enumerate(zip(lines, found)):
        if m is not None:
            files.setdefault(m["path"], []).append(_Entry(i, int(m["line"]), True, m["text"]))
            continue
        if line == _SEPARATOR or not line:
            continue
        # A context line's path may itself hold "-12-": the split that names a known path wins.
        for split in _CONTEXT_SPLIT.finditer(line):
            path = line[: split.start()]
            if path in paths:
                files.setdefault(path, []).append(_Entry(i, int(split["line"]), False, line[split.end():]))
                has_context = True
                break
        else:
            other.append(line)
    return _Parsed(files, other, True, has_context)


def _parse_heading(lines: list[str]) -> _Parsed | None:
    files: dict[str, list[_Entry]] = {}
    other: list[str] = []
    path: str | None = None
    has_context = False
    for i, line in enumerate(lines):
        if not line:
            path = None
            continue
        if line == _SEPARATOR:
            continue
        m = _ENTRY.fullmatch(line) if path is not None else None
        if m is not None and path is not None:
            is_match = m["sep"] == ":"
            has_context = has_context or not is_match
            files.setdefault(path, []).append(_Entry(i, int(m["line"]), is_match, m["text"]))
        elif path is None and i + 1 < len(lines) and _ENTRY.fullmatch(lines[i + 1]):
            path = line
        else:
            other.append(line)
    return _Parsed(files, other, True, has_context) if files else None


def _parse_no_line(lines: list[str]) -> _Parsed | None:
    files: dict[str, list[_Entry]] = {}
    other: list[str] = []
    for i, line in enumerate(lines):
        m = _NO_LINE.fullmatch(line)
        if m is not None:
            files.setdefault(m["path"], []).append(_Entry(i, None, True, line))
        elif line:
            other.append(line)
    if len(files) < 2:
        return None
    return _Parsed(files, other, False, False)


def _select(parsed: _Parsed, ctx: Context) -> set[int]:
    query = query_of(ctx.query, ctx.tool_args)
    matches: list[tuple[str, int, _Entry]] = []
    for path, entries in parsed.files.items():
        rank = 0
        for entry in entries:
            if entry.is_match:
                matches.append((path, rank, entry))
                rank += 1
    docs = [f"{path} {entry.text}" for path, _, entry in matches]
    anchors = discriminating_anchors(query, docs)
    named = {path for path in parsed.files if has_anchor(path, anchors)}
    scores = bm25([words(doc) for doc in docs], query.terms, query.weak_terms) if query.terms else [0.0] * len(docs)
    anchored = [has_anchor(entry.text, anchors) for _, _, entry in matches]
    order = sorted(
        range(len(matches)), key=lambda k: (not anchored[k], -scores[k], matches[k][1], matches[k][2].index)
    )
    ratio = ctx.config.target_ratio
    cap = MAX_MATCHES if ratio is None else max(MATCHES_PER_FILE, math.ceil(ratio * len(matches)))
    # Matches that hold an exact identifier of the query, or sit in a file it names, have their own
    # allowance: they never crowd the other files out of the overall cap.
    in_file: dict[str, int] = {}
    for path, _, _ in matches:
        in_file[path] = in_file.get(path, 0) + 1
    per_file: dict[str, int] = {}
    keep: set[int] = set()
    plain = pinned = 0
    for k in order:
        path, _, entry = matches[k]
        is_pinned = anchored[k] or path in named
        limit = MATCHES_PER_NAMED_FILE if path in named else MATCHES_PER_FILE
        if ratio is not None:
            limit = max(limit, math.ceil(ratio * in_file[path]))
        if per_file.get(path, 0) >= limit:
            continue
        if is_pinned:
            if pinned >= MAX_ANCHORED:
                continue
            pinned += 1
        else:
            if plain >= cap:
                continue
            plain += 1
        per_file[path] = per_file.get(path, 0) + 1
        keep.add(entry.index)
    if parsed.has_context:
        for entries in parsed.files.values():
            kept_lines = [e.line for e in entries if e.index in keep and e.line is not None]
            for e in entries:
                if not e.is_match and e.line is not None and any(abs(e.line - n) <= CONTEXT_AROUND for n in kept_lines):
                    keep.add(e.index)
    return keep


def _render(parsed: _Parsed, keep: set[int], rid: str | None, total_matches: int) -> str:
    out: list[str] = []
    kept_matches = dropped_files = dropped_in_dropped = 0
    files_kept = 0
    for path, entries in parsed.files.items():
        kept = [e for e in entries if e.index in keep]
        dropped = [e for e in entries if e.is_match and e.index not in keep]
        if not kept:
            dropped_files += 1
            dropped_in_dropped += len(dropped)
            continue
        files_kept += 1
        kept_matches += sum(1 for e in kept if e.is_match)
        if parsed.numbered:
            out.append(path)
        previous: int | None = None
        for e in kept:
            if parsed.has_context and previous is not None and e.line is not None and e.line > previous + 1:
                out.append(_SEPARATOR)
            previous = e.line
            out.append(f"{e.line}{':' if e.is_match else '-'}{e.text}" if parsed.numbered else e.text)
        if dropped:
            out.append(marker(f"{_plural(len(dropped), 'more match')} in this file{_where(dropped)}", rid))
        if parsed.numbered:
            out.append("")
    out.extend(parsed.other[:MAX_OTHER_LINES])
    dropped_other = len(parsed.other) - MAX_OTHER_LINES
    if kept_matches < total_matches or dropped_other > 0:
        note = f"kept {kept_matches} of {total_matches} matches in {_plural(files_kept, 'file')}"
        if dropped_files:
            note += f"; {_plural(dropped_files, 'more file')} with {_plural(dropped_in_dropped, 'match')} elided"
        if dropped_other > 0:
            note += f"; {dropped_other} other lines elided"
        out.append(marker(note, rid))
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


def _where(entries: list[_Entry]) -> str:
    numbers = [e.line for e in entries if e.line is not None]
    if not numbers:
        return ""
    return f" (line {numbers[0]})" if len(numbers) == 1 else f" (lines {min(numbers)}-{max(numbers)})"


def _plural(count: int, noun: str) -> str:
    if count == 1:
        return f"1 {noun}"
    return f"{count} {noun}es" if noun.endswith(("ch", "sh", "s", "x")) else f"{count} {noun}s"
