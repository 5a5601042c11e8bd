"""Diffs and patches (unified diff, git diff, git log -p, git show): changes kept, context trimmed.

Commit headers and messages, file headers and hunk headers are kept verbatim, and so is every
changed line up to the caps. Unchanged context is trimmed to one line on each side of a change;
huge hunks keep their first and last changes; files with many hunks keep their first and last
hunks and the ones the query matches; lockfiles and deleted files keep their headers. Files the
query names are kept whole. Every elision is a marker counting hunks and +/- lines.
Knows nothing of wire formats.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from ..markers import is_headroom_output, marker
from ..result import Kind
from . import Compressed, Context, elision, runs
from ._relevance import bm25, discriminating_anchors, has_anchor, query_of, words

MIN_LINES = 20
CONTEXT_KEPT = 1                # unchanged lines kept on each side of a change
MIN_CONTEXT_RUN = 3             # shorter runs of unchanged lines are cheaper than a marker
CHANGES_PER_HUNK = 60           # changed lines kept per hunk: the first two thirds and the last third
MIN_CHANGES_PER_HUNK = 6
HUNKS_PER_FILE = 10             # hunks kept per file: the first ones, the last one and the query's
MAX_FILES = 30                  # files beyond this keep their headers only
_HUNK = re.compile(r"@@ -(?P<old>\d+)(?:,(?P<old_len>\d+))? \+(?P<new>\d+)(?:,(?P<new_len>\d+))? @@")
_FILE_START = re.compile(r"diff --git |diff -|Index: ")
_PATH = re.compile(r"(?:\+\+\+|---) (?:[ab]/)?(?P<path>[^\t\n]+)")
_GIT_PATHS = re.compile(r"diff --git a/(?P<a>.+?) b/(?P<b>.+)")
_LOCKFILE = re.compile(
    r"(?:^|/)(?:package-lock\.json|yarn\.lock|pnpm-lock\.yaml|poetry\.lock|Cargo\.lock|Gemfile\.lock|composer\.lock"
    r"|go\.sum|uv\.lock|Pipfile\.lock)$|\.min\.(?:js|css)$|\.map$"
)


@dataclass(slots=True)
class _Hunk:
    header: str
    new_start: int
    lines: list[str] = field(default_factory=list)

    @property
    def added(self) -> int:
        return sum(1 for line in self.lines if line[:1] == "+")

    @property
    def removed(self) -> int:
        return sum(1 for line in self.lines if line[:1] == "-")


@dataclass(slots=True)
class _File:
    head: list[str]
    path: str
    hunks: list[_Hunk] = field(default_factory=list)
    is_deleted: bool = False


# A diff is a sequence of pieces: verbatim lines (commit headers, messages) or files.
_Piece = str | _File


def compress_diff(text: str, ctx: Context) -> Compressed | None:
    """A unified diff with headers and changed lines kept, context trimmed and big hunks capped.

    >>> from headroom_core.config import Config
    >>> body = [f" line {i}" for i in range(1, 11)] + ["-old 11", "+new 11"] + [f" line {i}" for i in range(12, 22)]
    >>> patch = "\\n".join(["--- a/f.txt", "+++ b/f.txt", "@@ -1,21 +1,21 @@", *body])
    >>> print(compress_diff(patch, Context(Config(ccr=False))).text)
    --- a/f.txt
    +++ b/f.txt
    @@ -1,21 +1,21 @@
    [[headroom: 9 unchanged lines (new lines 1-9)]]
     line 10
    -old 11
    +new 11
     line 12
    [[headroom: 9 unchanged lines (new lines 13-21)]]
    """
    if ctx.lossless_only or is_headroom_output(text):
        return None
    lines = text.split("\n")
    if len(lines) < MIN_LINES:
        return None
    pieces = _parse(lines)
    files = [p for p in pieces if isinstance(p, _File)]
    if not files or not any(f.hunks for f in files):
        return None
    plan = _plan(files, ctx)
    rendered_none = _render(pieces, plan, None)
    if rendered_none == text or "[[headroom:" not in rendered_none:
        return None
    reason = f"{len(files)} files: context trimmed, {plan.summary(files)}"

    def render(rid: str | None) -> str:
        return _render(pieces, plan, rid)

    return elision(text, render, Kind.DIFF, reason, ctx)


def _parse(lines: list[str]) -> list[_Piece]:
    pieces: list[_Piece] = []
    i = 0
    n = len(lines)
    while i < n:
        line = lines[i]
        starts_file = _FILE_START.match(line) or (
            line.startswith("--- ") and i + 1 < n and lines[i + 1].startswith("+++ ")
        )
        if not starts_file:
            pieces.append(line)
            i += 1
            continue
        head = [line]
        i += 1
        while i < n and not lines[i].startswith("@@ ") and not _FILE_START.match(lines[i]) and not _ends_file(lines[i]):
            head.append(lines[i])
            i += 1
        f = _File(head, _file_path(head), is_deleted=any(h.startswith("deleted file mode") for h in head))
        while i < n and lines[i].startswith("@@ "):
            m = _HUNK.match(lines[i])
            hunk = _Hunk(lines[i], int(m["new"]) if m else 0)
            old_left = int(m["old_len"] or 1) if m else -1
            new_left = int(m["new_len"] or 1) if m else -1
            i += 1
            # The header's counts say where the hunk ends, so "--- x" inside a hunk is still a change.
            while i < n and (old_left > 0 or new_left > 0 or (lines[i][:1] == "\\")):
                body = lines[i]
                tag = body[:1]
                if tag == "\\":
                    pass
                elif tag == "-":
                    old_left -= 1
                elif tag == "+":
                    new_left -= 1
                elif tag == " " or body == "":
                    old_left -= 1
                    new_left -= 1
                else:
                    break
                hunk.lines.append(body)
                i += 1
            f.hunks.append(hunk)
        pieces.append(f)
    return pieces


def _ends_file(line: str) -> bool:
    return line.startswith("commit ") and len(line) >= 47


def _file_path(head: list[str]) -> str:
    m = _GIT_PATHS.match(head[0])
    if m:
        return m["b"]
    for line in head:
        p = _PATH.match(line)
        if p and p["path"] != "/dev/null":
            return p["path"]
    return head[0]


@dataclass(slots=True)
class _Plan:
    named: set[int]                       # id() of files kept whole
    hunks_kept: dict[int, list[int]]      # id(file) -> kept hunk indexes
    headers_only: set[int]                # id() of files reduced to their headers
    change_cap: int
    why: dict[int, str]                   # id(file) -> why its hunks went

    def summary(self, files: list[_File]) -> str:
        kept = sum(len(self.hunks_kept.get(id(f), ())) for f in files)
        total = sum(len(f.hunks) for f in files)
        return f"kept {kept} of {total} hunks, {len(self.headers_only)} files reduced to headers, at most {self.change_cap} changed lines per hunk"


def _plan(files: list[_File], ctx: Context) -> _Plan:
    query = query_of(ctx.query, ctx.tool_args)
    anchors = discriminating_anchors(query, [f.path for f in files] + [h.header for f in files for h in f.hunks])
    named = {id(f) for f in files if has_anchor(f.path, anchors)}
    hunk_list = [(f, k, h) for f in files for k, h in enumerate(f.hunks)]
    scores = (
        bm25([words(" ".join(h.lines[:200])) for _, _, h in hunk_list], query.terms, query.weak_terms)
        if query.terms
        else [0.0] * len(hunk_list)
    )
    best = max(scores, default=0.0)
    relevant = {(id(f), k) for (f, k, h), s in zip(hunk_list, scores) if best > 0 and s >= 0.6 * best}
    relevant |= {(id(f), k) for f, k, h in hunk_list if anchors and any(has_anchor(line, anchors) for line in h.lines[:200])}
    hunks_kept: dict[int, list[int]] = {}
    headers_only: set[int] = set()
    why: dict[int, str] = {}
    ordinary = 0
    for f in files:
        if id(f) in named:
            hunks_kept[id(f)] = list(range(len(f.hunks)))
            continue
        if _LOCKFILE.search(f.path) or f.is_deleted:
            headers_only.add(id(f))
            why[id(f)] = "lockfile or generated" if not f.is_deleted else "file deleted"
            continue
        ordinary += 1
        if ordinary > MAX_FILES and not any((id(f), k) in relevant for k in range(len(f.hunks))):
            headers_only.add(id(f))
            why[id(f)] = f"beyond the first {MAX_FILES} files"
            continue
        n = len(f.hunks)
        chosen = set(range(min(n, HUNKS_PER_FILE - 1))) | {n - 1} | {k for k in range(n) if (id(f), k) in relevant}
        hunks_kept[id(f)] = sorted(chosen)
    change_cap = CHANGES_PER_HUNK
    ratio = ctx.config.target_ratio
    if ratio is not None:
        sizes = [h.added + h.removed for f in files if id(f) not in named and id(f) in hunks_kept for h in f.hunks]
        change_cap = _water_level(sizes, ratio * sum(sizes))
    return _Plan(named, hunks_kept, headers_only, change_cap, why)


def _water_level(sizes: list[int], budget: float) -> int:
    """The largest per-hunk cap c with sum(min(size, c)) <= budget (at least MIN_CHANGES_PER_HUNK)."""
    low, high = MIN_CHANGES_PER_HUNK, max(sizes, default=MIN_CHANGES_PER_HUNK)
    while low < high:
        mid = (low + high + 1) // 2
        if sum(min(s, mid) for s in sizes) <= budget:
            low = mid
        else:
            high = mid - 1
    return max(MIN_CHANGES_PER_HUNK, low)


def _render(pieces: list[_Piece], plan: _Plan, rid: str | None) -> str:
    out: list[str] = []
    for piece in pieces:
        if isinstance(piece, str):
            out.append(piece)
            continue
        out.extend(piece.head)
        if id(piece) in plan.named:
            for hunk in piece.hunks:
                out.append(hunk.header)
                out.extend(hunk.lines)
            continue
        if id(piece) in plan.headers_only:
            added = sum(h.added for h in piece.hunks)
            removed = sum(h.removed for h in piece.hunks)
            summary = f"{_count(len(piece.hunks), 'hunk')} elided (+{added} -{removed} lines; {plan.why[id(piece)]})"
            out.append(marker(summary, rid))
            continue
        kept = plan.hunks_kept[id(piece)]
        previous = -1
        for k in kept:
            if k > previous + 1:
                out.append(marker(_hunks_gap(piece.hunks[previous + 1 : k]), rid))
            hunk = piece.hunks[k]
            out.append(hunk.header)
            out.extend(_trim_hunk(hunk, plan.change_cap, rid))
            previous = k
        if previous + 1 < len(piece.hunks):
            out.append(marker(_hunks_gap(piece.hunks[previous + 1 :]), rid))
    return "\n".join(out)


def _hunks_gap(hunks: list[_Hunk]) -> str:
    added = sum(h.added for h in hunks)
    removed = sum(h.removed for h in hunks)
    return f"{_count(len(hunks), 'more hunk')} in this file elided (+{added} -{removed} lines; new lines {hunks[0].new_start}-{hunks[-1].new_start})"


def _trim_hunk(hunk: _Hunk, change_cap: int, rid: str | None) -> list[str]:
    lines = hunk.lines
    n = len(lines)
    changed = [i for i, line in enumerate(lines) if line[:1] in ("+", "-")]
    keep = [False] * n
    # Changes beyond the cap: the first two thirds and the last third are kept.
    if len(changed) > change_cap:
        head = math.ceil(change_cap * 2 / 3)
        chosen = changed[:head] + changed[len(changed) - (change_cap - head) :]
    else:
        chosen = changed
    for i in chosen:
        keep[i] = True
    for i in chosen:
        for j in range(max(0, i - CONTEXT_KEPT), min(n, i + CONTEXT_KEPT + 1)):
            if lines[j][:1] not in ("+", "-"):
                keep[j] = True
    for i, line in enumerate(lines):
        if line[:1] == "\\" and i > 0 and keep[i - 1]:
            keep[i] = True
    # New-file line number of each body line, for the markers.
    numbers = []
    new_line = hunk.new_start
    for line in lines:
        numbers.append(new_line)
        if line[:1] != "-" and line[:1] != "\\":
            new_line += 1
    out: list[str] = []
    for i, j, is_kept in runs(keep):
        run = lines[i:j]
        if is_kept:
            out.extend(run)
            continue
        added = sum(1 for line in run if line[:1] == "+")
        removed = sum(1 for line in run if line[:1] == "-")
        if not added and not removed and len(run) < MIN_CONTEXT_RUN:
            out.extend(run)
        elif not added and not removed:
            out.append(marker(f"{len(run)} unchanged lines (new lines {numbers[i]}-{numbers[j - 1]})", rid))
        else:
            out.append(marker(f"{added + removed} changed lines elided (+{added} -{removed}; {len(run)} lines, near new line {numbers[i]})", rid))
    return out


def _count(count: int, noun: str) -> str:
    return f"1 {noun}" if count == 1 else f"{count} {noun}s"
