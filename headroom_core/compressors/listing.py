"""File listings (find, ls -la, ls -R): grouped by directory, relevant entries kept, capped with counts.

`find` output is regrouped the way `ls -R` prints: a `dir:` line, then the names in it. `ls -la`
and `ls -R` keep their own lines verbatim. Each directory keeps its entries that the query names
or that score on it, its subdirectories, then its first entries up to a cap; the rest are counted
by extension in one marker per directory, and directories beyond the overall cap in a last one.
Knows nothing of wire formats.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from ..markers import marker
from ..result import Kind
from . import Compressed, Context, compacted, elision, selectable_lines
from ._relevance import anchor_lines, bm25, query_of, words

MIN_LINES = 12
ENTRIES_PER_DIR = 12
DEFAULT_KEEP_RATIO = 0.25
RELEVANT_PER_DIR = 50
MAX_DIRS = 60
MIN_PATH_SHARE = 0.8
_TALLY_KINDS = 3
MIN_ELIDED = 3
_MIN_SCORE = 1.0
_SCORE_SHARE = 0.6

_LS_LONG = re.compile(
    r"[-dlcbpsD][-rwxsStT]{9}[.+@]?\s+\d+\s+\S+\s+\S+\s+(?:\d+,\s*)?\d+\s+\S+\s+\S+\s+\S+\s(?P<name>.+)"
)
_LS_TOTAL = re.compile(r"total \d+(?:[.,]\d+)?[KMGT]?")
_SECTION = re.compile(r"(?P<dir>\S.*):")
_PATH = re.compile(r"[^\s:]*[^\s:/]|[^\s:]*[^\s:/]/?")


@dataclass(slots=True)
class _Dir:
    name: str                           # the directory, as the tool printed it ("" for top level)
    head: list[str] = field(default_factory=list)     # verbatim lines before the entries ("dir:", "total N")
    entries: list[tuple[str, str, bool]] = field(default_factory=list)  # (path for scoring, line, is_dir)


def compress_listing(text: str, ctx: Context) -> Compressed | None:
    """find / ls -la / ls -R output grouped by directory, with per-directory and overall caps.

    >>> from headroom_core.config import Config
    >>> paths = "\\n".join(["src"] + [f"src/mod_{i:02}.py" for i in range(20)])
    >>> print(compress_listing(paths, Context(Config(ccr=False), query="open mod_17.py")).text)
    src:
    mod_00.py
    mod_01.py
    mod_02.py
    mod_03.py
    mod_04.py
    mod_05.py
    mod_06.py
    mod_07.py
    mod_08.py
    mod_09.py
    mod_10.py
    mod_17.py
    [[headroom: 8 more entries in this directory (8 .py)]]
    """
    lines = selectable_lines(text, ctx, MIN_LINES)
    if lines is None:
        return None
    dirs = _parse_ls(lines)
    regrouped = dirs is None
    if dirs is None:
        dirs = _parse_find(lines)
    if dirs is None:
        return None
    keep = _select(dirs, ctx)
    total = sum(len(d.entries) for d in dirs)
    kept = sum(len(k) for k in keep.values())
    if kept == total:
        if not regrouped:
            return None
        description = 'grouped by directory: a "dir:" line, then the names in it'
        return compacted(text, description, _render(dirs, keep, None, regrouped), Kind.LISTING, f"{total} paths grouped by directory")
    dirs_kept = sum(1 for d in dirs if d.name in keep)
    reason = f"kept {kept} of {total} entries in {dirs_kept} of {len(dirs)} directories"

    def render(rid: str | None) -> str:
        return _render(dirs, keep, rid, regrouped)

    return elision(text, render, Kind.LISTING, reason, ctx)


def _parse_ls(lines: list[str]) -> list[_Dir] | None:
    """ls -la / ls -R / ls -lR: sections headed by `dir:`, entries one per line."""
    dirs: list[_Dir] = []
    current = _Dir("")
    is_long = sum(1 for line in lines if _LS_LONG.fullmatch(line)) >= 0.5 * len(lines)
    has_sections = False
    for index, line in enumerate(lines):
        section = _SECTION.fullmatch(line) if (index == 0 or not lines[index - 1]) else None
        if section is not None:
            if current.entries or current.head:
                dirs.append(current)
            current = _Dir(section["dir"], [line])
            has_sections = True
        elif not line:
            continue
        elif _LS_TOTAL.fullmatch(line):
            current.head.append(line)
        elif is_long:
            m = _LS_LONG.fullmatch(line)
            if m is None:
                return None
            name = m["name"].split(" -> ")[0]
            current.entries.append((f"{current.name}/{name}", line, line.startswith("d")))
        elif has_sections:
            current.entries.append((f"{current.name}/{line}", line, False))
        else:
            return None
    dirs.append(current)
    return dirs if (is_long or has_sections) else None


def _parse_find(lines: list[str]) -> list[_Dir] | None:
    """One path per line: grouped by parent directory, in order of first appearance."""
    nonblank = [line for line in lines if line]
    is_path = [_PATH.fullmatch(line) is not None for line in nonblank]
    if sum(1 for line, ok in zip(nonblank, is_path) if ok and "/" in line) < MIN_PATH_SHARE * len(nonblank):
        return None
    if any(not ok and (not line or line != line.strip()) for line, ok in zip(nonblank, is_path)):
        return None
    paths = [line.rstrip("/") for line in nonblank]
    parents = {p.rpartition("/")[0] for p in paths}
    by_dir: dict[str, _Dir] = {}
    for path, line in zip(paths, nonblank):
        if path in parents:
            by_dir.setdefault(path, _Dir(path, [f"{path}:"]))
            continue
        parent, _, name = path.rpartition("/")
        d = by_dir.setdefault(parent, _Dir(parent, [f"{parent}:"] if parent else []))
        d.entries.append((path, name + ("/" if line.endswith("/") else ""), False))
    return list(by_dir.values())


def _select(dirs: list[_Dir], ctx: Context) -> dict[str, list[int]]:
    """For each kept directory, the indexes of its kept entries."""
    query = query_of(ctx.query, ctx.tool_args)
    flat = [(d_index, e_index, path) for d_index, d in enumerate(dirs) for e_index, (path, _, _) in enumerate(d.entries)]
    anchored = {i for found in anchor_lines(query, [path for _, _, path in flat]).values() for i in found}
    scores = (
        bm25([words(path.replace("/", " ")) for _, _, path in flat], query.terms, query.weak_terms)
        if query.terms
        else [0.0] * len(flat)
    )
    # A word every path holds ("py", the package name) scores little: only the best-scoring paths count.
    floor = max(_MIN_SCORE, _SCORE_SHARE * max(scores, default=0.0))
    relevant = {
        (d_index, e_index): i in anchored or score >= floor
        for i, ((d_index, e_index, _), score) in enumerate(zip(flat, scores))
    }
    ratio = ctx.config.target_ratio
    keep: dict[str, list[int]] = {}
    for d_index, d in enumerate(dirs):
        n = len(d.entries)
        cap = max(ENTRIES_PER_DIR, math.ceil(DEFAULT_KEEP_RATIO * n)) if ratio is None else max(3, math.ceil(ratio * n))
        chosen = [e for e in range(n) if relevant[(d_index, e)]][:RELEVANT_PER_DIR]
        # Subdirectories first (they are the map), up to half the cap, then entries in their order.
        chosen += [e for e in range(n) if d.entries[e][2] and e not in chosen][: max(0, cap // 2 - len(chosen))]
        for e in range(n):
            if len(chosen) >= cap:
                break
            if e not in chosen:
                chosen.append(e)
        if n - len(chosen) < MIN_ELIDED:  # a marker costs more than a couple of names
            chosen = list(range(n))
        keep[d.name] = sorted(chosen)
    # Beyond the overall cap, directories with nothing relevant are elided whole, the deepest first.
    if len(dirs) > MAX_DIRS:
        plain = [d for d_index, d in enumerate(dirs) if not any(relevant[(d_index, e)] for e in range(len(d.entries)))]
        # dirs.index(d) without a scan per directory: the first position of an equal directory.
        first: dict[tuple[str, tuple[str, ...], tuple[tuple[str, str, bool], ...]], int] = {}
        for d_index, d in enumerate(dirs):
            first.setdefault(_identity(d), d_index)
        plain.sort(key=lambda d: (-d.name.count("/"), -first[_identity(d)]))
        for d in plain[: len(dirs) - MAX_DIRS]:
            del keep[d.name]
    return keep


def _identity(d: _Dir) -> tuple[str, tuple[str, ...], tuple[tuple[str, str, bool], ...]]:
    """What makes two directories equal (the dataclass's own equality), as a hashable key."""
    return d.name, tuple(d.head), tuple(d.entries)


def _render(dirs: list[_Dir], keep: dict[str, list[int]], rid: str | None, regrouped: bool) -> str:
    out: list[str] = []
    dropped_dirs = dropped_in_dirs = 0
    for d in dirs:
        if d.name not in keep:
            dropped_dirs += 1
            dropped_in_dirs += len(d.entries)
            continue
        if out and (regrouped or d.head[:1] and _SECTION.fullmatch(d.head[0])):
            out.append("")
        out.extend(d.head)
        chosen = keep[d.name]
        out.extend(d.entries[e][1] for e in chosen)
        if len(chosen) < len(d.entries):
            shown = set(chosen)
            left = [d.entries[e][0] for e in range(len(d.entries)) if e not in shown]
            out.append(marker(f"{len(left)} more entries in this directory ({_tally(left)})", rid))
    if dropped_dirs:
        out.append(marker(f"{dropped_dirs} more directories with {dropped_in_dirs} entries elided", rid))
    return "\n".join(out)


def _tally(paths: list[str]) -> str:
    counts: dict[str, int] = {}
    for path in paths:
        name = path.rpartition("/")[2]
        stem, dot, ext = name.rpartition(".")
        kind = f".{ext}" if dot and stem and len(ext) <= 8 else "no extension"
        counts[kind] = counts.get(kind, 0) + 1
    top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    shown = [f"{n} {kind}" for kind, n in top[:_TALLY_KINDS]]
    rest = sum(n for _, n in top[_TALLY_KINDS:])
    if rest:
        shown.append(f"{rest} other")
    return ", ".join(shown)
