"""Logs and build/test output: keep what a reader needs, fold the rest behind markers with counts.

Kept verbatim: the head and the tail, errors (a few per line shape) with context, warnings (one per
shape), stack traces and tracebacks, summary lines (pytest totals, FAILED lines, compiler errors,
BUILD results, exit codes), lines holding an exact identifier the query names, and one
representative of each frequent line shape. Every run of elided lines becomes one marker that says
how many lines went, their line numbers in the original, and which shapes they had. Knows nothing of wire formats or of the other content kinds.
"""

from __future__ import annotations

import math
import re
from typing import Callable

from ..markers import is_headroom_output, marker
from ..result import Kind
from . import Compressed, Context, elision, runs
from ._relevance import anchor_lines, query_of

MIN_LINES = 30
HEAD_LINES = 5
TAIL_LINES = 6
ERROR_CONTEXT_LINES = 2
ERRORS_PER_SHAPE = 2        # the first ones of each error shape, plus the last one
ERROR_SHAPES_MAX = 20
WARNING_SHAPES_MAX = 10
SUMMARY_SHAPES_MAX = 40
TRACE_BLOCKS_MAX = 5
TRACE_MAX_LINES = 50        # a longer trace keeps its head and its tail
TRACE_HEAD_LINES = 10       # a traceback's innermost frames and message are at its end
TRACE_TAIL_LINES = 30
DEFAULT_KEEP_RATIO = 0.2
MIN_KEEP_LINES = 30
MIN_GAP_LINES = 3           # a marker costs about as much as two short lines
QUERY_LINES_PER_ANCHOR = 5  # lines holding an exact identifier of the query: the first ones, plus the last
_SCAN_CHARS = 500
_SHAPE_CHARS = 60

_ERROR = re.compile(
    r"\b(?:ERROR|ERR!|FATAL|CRITICAL|PANIC|FAILED|FAILURE|FAIL|[Ee]rror|[Ff]ailed|[Ff]atal|panic(?:ked)?"
    r"|Exception|Traceback|Segmentation fault|core dumped)\b|[a-z](?:Error|Exception)\b|^E {2,}\S|\berror\[E?\d+\]"
)
_WARNING = re.compile(r"\b(?:WARN|WARNING|[Ww]arning|DEPRECATED|[Dd]eprecated)\b|[a-z]Warning\b")
_SUMMARY = re.compile(
    r"^={3,} .* ={3,}$|^-{3,} .* -{3,}$"
    r"|\b\d+ (?:passed|failed|errors?|skipped|xfailed|xpassed|deselected|warnings?|tests?|examples?|failures?)\b"
    r"|^(?:FAILED|ERROR|PASSED|FAIL|PASS|OK)\b|^Ran \d+ tests?|^Tests?:|^test result:"
    r"|\bBUILD (?:SUCCESSFUL|SUCCESS|FAILED|FAILURE)\b|\b[Ee]xit(?:ed)? (?:with )?(?:code|status)\b|\bexit code\b"
    r"|^\s*(?:Finished|Done|Completed|Successfully|Compiled|Built|Installed)\b|\bFinished\b|^make(?:\[\d+\])?: \*\*\*"
    r"|^(?:error|warning)(?:\[\w+\])?: |^npm ERR!|^TOTAL\b|\bcoverage\b"
)
_TRACE_START = re.compile(r"^\s*Traceback \(most recent call last\):|^Exception in thread |^goroutine \d+ \[|^thread '.*' panicked")
_TRACE_LINE = re.compile(
    r"^\s+File \".*\", line \d+|^\s+at \S|^\s+\.\.\. \d+ more|^Caused by: |^During handling of the above exception"
    r"|^The above exception was the direct cause|^\s+\^+\s*$|^\s+-->\s"
)
_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?|\b\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\b"
)
_HEX_ID = re.compile(
    r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b|\b0x[0-9a-fA-F]+\b|\b(?=[a-f]*[0-9])(?=[0-9]*[a-f])[0-9a-f]{7,}\b"
)
_IPV4 = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b")
_NUMBER = re.compile(r"\d+")
# Cheap necessary conditions, tried first (STYLE 9.4): a line none of whose hints holds cannot match
# the pattern, so only the few lines that do pay for its word-boundary alternation.
_ERROR_HINT = re.compile(r"ERR|rror|FAIL|ailed|atal|FATAL|CRITICAL|PANIC|panic|Exception|Traceback|Segmentation fault|core dumped")
_ERROR_START = "E  "
_WARNING_HINT = re.compile(r"WARN|arning|DEPRECATED|eprecated")
_SUMMARY_HINT = re.compile(
    r" (?:passed|failed|error|skipped|xfailed|xpassed|deselected|warning|test|example|failure)"
    r"|BUILD |xit|Finished|Done|Completed|Successfully|Compiled|Built|Installed|coverage"
)
_SUMMARY_STARTS = ("===", "---", "FAIL", "ERROR", "PASS", "OK", "Ran ", "Test", "test", "make", "error", "warning", "npm ERR!", "TOTAL")
# `\d{2}:\d{2}` led by its literal colon, which the regex engine finds fast.
_TIMESTAMP_HINT = re.compile(r":(?<=\d\d:)\d\d")
# A uuid has "-hhhh-", 0x... starts "0x", and a hex run holds a digit next to a letter.
_HEX_ID_HINT = re.compile(r"[0-9][a-fx]|[a-f][0-9]|-[0-9a-fA-F]{4}-")
_DIGIT = re.compile(r"\d")

_ERR, _WARN, _SUM, _TRACE = 1, 2, 4, 8


def compress_logs(text: str, ctx: Context) -> Compressed | None:
    """Logs, build and test output with errors, traces, summaries, head and tail kept verbatim.

    Lines of the same shape (same words, different numbers, ids, timestamps) are represented by one
    kept line; every elided run becomes a marker with its line count, line numbers and shapes.
    None when the text is short, already holds markers, or nothing would be elided.

    >>> from headroom_core.config import Config
    >>> log = "start\\n" + "".join(f"GET /api/items/{i} 200\\n" for i in range(60)) + "ERROR db down\\ndone"
    >>> print(compress_logs(log, Context(Config(ccr=False))).text)
    start
    GET /api/items/0 200
    GET /api/items/1 200
    GET /api/items/2 200
    GET /api/items/3 200
    [[headroom: 52 more lines like the line above (lines 6-57)]]
    GET /api/items/56 200
    GET /api/items/57 200
    GET /api/items/58 200
    GET /api/items/59 200
    ERROR db down
    done
    """
    if ctx.lossless_only or is_headroom_output(text):
        return None
    lines = text.split("\n")
    n = len(lines)
    if n < MIN_LINES:
        return None
    flags, shapes = _read_lines(lines)
    keep = _select(lines, flags, shapes, ctx)
    _fill_small_gaps(keep)
    kept = sum(keep)
    if kept == n:
        return None
    counts = _census(flags, keep)
    reason = f"{n} lines -> {kept} kept ({counts})"
    return elision(text, _renderer(lines, flags, shapes, keep), Kind.LOG, reason, ctx)


def _read_lines(lines: list[str]) -> tuple[list[int], list[str]]:
    """Each line's flags and shape. A line repeated verbatim (a health check, a retry) is read once."""
    flags: list[int] = []
    shapes: list[str] = []
    seen: dict[str, tuple[int, str]] = {}
    for line in lines:
        read = seen.get(line)
        if read is None:
            read = seen[line] = (_classify(line), _shape(line))
        flags.append(read[0])
        shapes.append(read[1])
    return flags, shapes


def _classify(line: str) -> int:
    head = line[:_SCAN_CHARS]
    flags = 0
    if (_ERROR_HINT.search(head) or head.startswith(_ERROR_START)) and _ERROR.search(head):
        flags |= _ERR
    elif _WARNING_HINT.search(head) and _WARNING.search(head):
        flags |= _WARN
    if (head.startswith(_SUMMARY_STARTS) or _SUMMARY_HINT.search(head)) and _SUMMARY.search(head):
        flags |= _SUM
    if _TRACE_START.match(head) or _TRACE_LINE.match(head):
        flags |= _TRACE
    return flags


def _shape(line: str) -> str:
    """The line with numbers, ids, addresses and timestamps blanked: lines of one shape fold together."""
    head = line[:_SCAN_CHARS]
    if _DIGIT.search(head):
        if _TIMESTAMP_HINT.search(head):
            head = _TIMESTAMP.sub("<ts>", head)
        head = _IPV4.sub("<ip>", head)
        if _HEX_ID_HINT.search(head):
            head = _HEX_ID.sub("<id>", head)
        head = _NUMBER.sub("<n>", head)
    elif "-" in head and _HEX_ID_HINT.search(head):  # without a digit only a uuid of hex letters is an id
        head = _HEX_ID.sub("<id>", head)
    # str.split() and str.strip() use the same whitespace as the regex \s.
    return " ".join(head.split())


def _select(lines: list[str], flags: list[int], shapes: list[str], ctx: Context) -> list[bool]:
    n = len(lines)
    keep = [False] * n
    last = n - 1
    while last > 0 and not lines[last].strip():
        last -= 1
    for i in range(min(HEAD_LINES, n)):
        keep[i] = True
    for i in range(max(0, last - TAIL_LINES + 1), n):
        keep[i] = True
    _keep_per_shape(keep, flags, shapes, _SUM, SUMMARY_SHAPES_MAX, first=2, also_last=True)
    errors = _keep_per_shape(keep, flags, shapes, _ERR, ERROR_SHAPES_MAX, first=ERRORS_PER_SHAPE, also_last=True)
    for i in errors:
        for j in range(max(0, i - ERROR_CONTEXT_LINES), min(n, i + ERROR_CONTEXT_LINES + 1)):
            keep[j] = True
    _keep_per_shape(keep, flags, shapes, _WARN, WARNING_SHAPES_MAX, first=1, also_last=False)
    for start, stop in _trace_blocks(lines, flags)[:TRACE_BLOCKS_MAX]:
        for i in range(start, stop):
            if stop - start <= TRACE_MAX_LINES or i - start < TRACE_HEAD_LINES or stop - i <= TRACE_TAIL_LINES:
                keep[i] = True
    _keep_anchored(keep, lines, ctx)
    ratio = ctx.config.target_ratio or DEFAULT_KEEP_RATIO
    budget = max(MIN_KEEP_LINES, math.ceil(ratio * n)) - sum(keep)
    if budget > 0:
        budget = _keep_representatives(keep, lines, shapes, budget)
    # An explicit target_ratio that leaves budget is spent on a longer head and tail.
    front, back = 0, n - 1
    while ctx.config.target_ratio is not None and budget > 0 and front <= back:
        for i in (front, back):
            if budget > 0 and not keep[i]:
                keep[i] = True
                budget -= 1
        front, back = front + 1, back - 1
    return keep


def _keep_anchored(keep: list[bool], lines: list[str], ctx: Context) -> None:
    """Keep lines holding an exact identifier the query names (a request id, a path, a test name)."""
    for found in anchor_lines(query_of(ctx.query, ctx.tool_args), lines).values():
        for i in found[:QUERY_LINES_PER_ANCHOR] + found[-1:]:
            keep[i] = True


def _keep_per_shape(
    keep: list[bool], flags: list[int], shapes: list[str], flag: int, max_shapes: int, first: int, also_last: bool
) -> list[int]:
    """Keep the first `first` lines of each shape carrying `flag` (and the last one); return them."""
    seen: dict[str, int] = {}
    last_of: dict[str, int] = {}
    kept: list[int] = []
    for i, line_flags in enumerate(flags):
        if not line_flags & flag:
            continue
        shape = shapes[i]
        count = seen.get(shape, 0)
        if count == 0 and len(seen) >= max_shapes:
            continue
        seen[shape] = count + 1
        last_of[shape] = i
        if count < first:
            keep[i] = True
            kept.append(i)
    if also_last:
        for i in sorted(last_of.values()):
            if not keep[i]:
                keep[i] = True
                kept.append(i)
    return sorted(kept)


def _trace_blocks(lines: list[str], flags: list[int]) -> list[tuple[int, int]]:
    """[start, stop) of each stack trace: a traceback header or an error line followed by indented
    frames, through the first unindented line after the frames (the exception message)."""
    blocks: list[tuple[int, int]] = []
    n = len(lines)
    i = 0
    while i < n:
        starts = flags[i] & _TRACE and _TRACE_START.match(lines[i][:_SCAN_CHARS])
        if not starts and not (flags[i] & _ERR and i + 1 < n and _TRACE_LINE.match(lines[i + 1][:_SCAN_CHARS])):
            i += 1
            continue
        j = i + 1
        while j < n and (lines[j][:1] in (" ", "\t") or flags[j] & _TRACE or not lines[j].strip()):
            if not lines[j].strip() and not (j + 1 < n and flags[j + 1] & _TRACE):
                break
            j += 1
        if j < n and lines[j].strip():
            j += 1  # the exception message that ends a Python traceback
        blocks.append((i, j))
        i = j
    return blocks


def _keep_representatives(keep: list[bool], lines: list[str], shapes: list[str], budget: int) -> int:
    """Spend what is left of the budget on the first line of each shape, most frequent shapes first."""
    first: dict[str, int] = {}
    count: dict[str, int] = {}
    represented: set[str] = set()
    for i, shape in enumerate(shapes):
        if not shape:
            continue
        if keep[i]:
            represented.add(shape)
        first.setdefault(shape, i)
        count[shape] = count.get(shape, 0) + 1
    order = sorted((shape for shape in first if shape not in represented), key=lambda s: (-count[s], first[s]))
    for shape in order:
        if budget <= 0:
            break
        keep[first[shape]] = True
        budget -= 1
    return budget


def _fill_small_gaps(keep: list[bool]) -> None:
    for i, j, is_kept in runs(keep):
        if not is_kept and j - i < MIN_GAP_LINES:
            for k in range(i, j):
                keep[k] = True


def _census(flags: list[int], keep: list[bool]) -> str:
    names = ((_ERR, "error"), (_WARN, "warning"), (_TRACE, "trace"), (_SUM, "summary"))
    parts = []
    for flag, name in names:
        total = sum(1 for f in flags if f & flag)
        if total:
            shown = sum(1 for f, k in zip(flags, keep) if k and f & flag)
            parts.append(f"{name} lines {shown}/{total}")
    return ", ".join(parts) or "no error, warning or summary lines"


def _renderer(lines: list[str], flags: list[int], shapes: list[str], keep: list[bool]) -> Callable[[str | None], str]:
    def render(rid: str | None) -> str:
        out: list[str] = []
        for i, j, is_kept in runs(keep):
            if is_kept:
                out.extend(lines[i:j])
            else:
                previous = shapes[i - 1] if i > 0 else None
                out.append(marker(_describe_gap(flags, shapes, i, j, previous), rid))
        return "\n".join(out)

    return render


def _describe_gap(flags: list[int], shapes: list[str], start: int, stop: int, previous: str | None) -> str:
    count = stop - start
    where = f"lines {start + 1}-{stop}"
    tally: dict[str, int] = {}
    for i in range(start, stop):
        tally[shapes[i]] = tally.get(shapes[i], 0) + 1
    errors = sum(1 for i in range(start, stop) if flags[i] & _ERR)
    warnings = sum(1 for i in range(start, stop) if flags[i] & _WARN)
    notes = []
    if errors:
        notes.append(f"{errors} more error lines")
    if warnings:
        notes.append(f"{warnings} more warning lines")
    extra = f"; {', '.join(notes)}" if notes else ""
    if len(tally) == 1 and previous is not None and previous in tally:
        return f"{count} more lines like the line above ({where}{extra})"
    top = sorted(tally.items(), key=lambda item: (-item[1], item[0]))[:2]
    shown = [f"{n} like '{_clip(shape)}'" for shape, n in top if n > 1 and shape]
    rest = count - sum(n for shape, n in top if n > 1 and shape)
    if shown and rest:
        shown.append(f"{rest} other")
    detail = f": {', '.join(shown)}" if shown else ""
    return f"{count} lines elided ({where}{detail}{extra})"


def _clip(shape: str) -> str:
    return shape if len(shape) <= _SHAPE_CHARS else shape[: _SHAPE_CHARS - 1] + "…"
