"""The read lifecycle: which file reads a later edit, write or re-read has made stale (DESIGN 1).

A read is *stale* when a later successful edit or write changed its file, and *superseded* when a
later read of the same file covers the same range (a whole-file read covers every range). Only
token mode rewrites them; the pipeline decides that. This module only reads the segments.
"""

from __future__ import annotations

import json
import posixpath
import re
import shlex
from dataclasses import dataclass

from ._types import Path
from .result import Source
from .segment import Segment

# A range of lines: (first, last), 1-based inclusive; None means the whole file.
Range = tuple[int, int | None] | None

_PATH_KEYS = ("file_path", "path", "notebook_path", "filename", "file", "target_file")
_READ_TOOLS = frozenset({"read", "read_file", "view", "view_file", "open_file", "cat"})
_WRITE_TOOLS = frozenset(
    {"write", "edit", "multiedit", "notebookedit", "write_file", "edit_file", "create_file", "apply_patch", "str_replace_based_edit_tool"}
)
_SHELL_TOOLS = frozenset({"bash", "shell", "exec_command", "local_shell", "run_command", "terminal"})
_PATCH_FILE = re.compile(r"^\*\*\* (?:Update|Add|Delete) File: (.+)$|^\*\*\* Move to: (.+)$", re.MULTILINE)
_SED_RANGE = re.compile(r"^(\d+)(?:,(\d+))?p$")
_FAILED = re.compile(r"^\s*(?:error|failed|fatal)\b|\"exit_code\":\s*[1-9]", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Read:
    index: int          # position of the result segment in the segment list
    file: str
    range: Range
    call_path: Path     # where the call sits, to name it in a marker
    tool_name: str


@dataclass(frozen=True, slots=True)
class Change:
    index: int
    file: str
    call_path: Path
    tool_name: str


@dataclass(frozen=True, slots=True)
class Staleness:
    """Why the read result at `index` no longer holds: the later call that made it so."""

    file: str
    reason: str         # "stale" or "superseded"
    by_tool: str
    by_path: Path


def stale_reads(segs: list[Segment]) -> dict[int, Staleness]:
    """Segment index of each stale or superseded read result -> why; results of failed calls never count."""
    reads, changes = _operations(segs)
    out: dict[int, Staleness] = {}
    for read in reads:
        change = next((c for c in changes if c.file == read.file and c.index > read.index), None)
        later = next((r for r in reads if r.file == read.file and r.index > read.index and _covers(r.range, read.range)), None)
        if change is not None and (later is None or change.index <= later.index):
            out[read.index] = Staleness(read.file, "stale", change.tool_name, change.call_path)
        elif later is not None:
            out[read.index] = Staleness(read.file, "superseded", later.tool_name, later.call_path)
    return out


def read_results(segs: list[Segment]) -> dict[int, Read]:
    """Segment index of each successful read's result -> the read (file, range, call)."""
    return {read.index: read for read in _operations(segs)[0]}


def read_of(seg: Segment) -> tuple[str, Range] | None:
    """The file and range a tool call reads, judged from its name and arguments; None if not a read."""
    if seg.tool_name is None or seg.tool_args is None:
        return None
    args = _args(seg.tool_args)
    name = seg.tool_name.lower()
    if name == "str_replace_based_edit_tool" or name == "str_replace_editor":
        if args.get("command") == "view" and isinstance(args.get("path"), str):
            return _norm(args["path"]), _view_range(args.get("view_range"))
        return None
    if name in _READ_TOOLS or ("read" in name and name not in _WRITE_TOOLS):
        file = _path_arg(args)
        if file is None:
            return None
        return file, _offset_range(args.get("offset"), args.get("limit"))
    if name in _SHELL_TOOLS:
        return _shell_read(_command(args))
    return None


def _operations(segs: list[Segment]) -> tuple[list[Read], list[Change]]:
    results: dict[str, list[int]] = {}
    for i, seg in enumerate(segs):
        if seg.source is Source.TOOL_RESULT and seg.tool_call_id:
            results.setdefault(seg.tool_call_id, []).append(i)
    reads: list[Read] = []
    changes: list[Change] = []
    for i, seg in enumerate(segs):
        if seg.source is not Source.TOOL_CALL or not seg.tool_call_id or seg.tool_name is None:
            continue
        found = results.get(seg.tool_call_id, [])
        if len(found) != 1 or _failed(segs[found[0]]):
            continue  # no result, a multi-part result we do not rewrite, or a failed call
        where = seg.path[:2]
        read = read_of(seg)
        if read is not None:
            reads.append(Read(found[0], read[0], read[1], where, seg.tool_name))
            continue
        for file in _written_files(seg):
            changes.append(Change(i, file, where, seg.tool_name))
    return reads, changes


def _written_files(seg: Segment) -> list[str]:
    args = _args(seg.tool_args or "")
    name = (seg.tool_name or "").lower()
    if name in ("str_replace_based_edit_tool", "str_replace_editor"):
        cmd = args.get("command")
        return [_norm(args["path"])] if cmd in ("str_replace", "create", "insert") and isinstance(args.get("path"), str) else []
    if name == "apply_patch" or (name in _SHELL_TOOLS and _command(args).lstrip().startswith("apply_patch")):
        patch = args.get("input") if isinstance(args.get("input"), str) else (seg.tool_args if not args else _command(args))
        return sorted({_norm(a or b) for a, b in _PATCH_FILE.findall(patch or "")})
    if name in _WRITE_TOOLS or "write" in name or "edit" in name:
        file = _path_arg(args)
        return [file] if file else []
    return []


def _failed(result: Segment) -> bool:
    return result.is_error or _FAILED.search(result.text[:200]) is not None


def _covers(later: Range, earlier: Range) -> bool:
    return later is None or later == earlier


def _args(text: str) -> dict:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _path_arg(args: dict) -> str | None:
    for key in _PATH_KEYS:
        if isinstance(args.get(key), str) and args[key]:
            return _norm(args[key])
    return None


def _norm(path: str) -> str:
    return posixpath.normpath(path.strip())


def _offset_range(offset: object, limit: object) -> Range:
    if offset is None and limit is None:
        return None
    first = offset if isinstance(offset, int) and offset > 0 else 1
    last = first + limit - 1 if isinstance(limit, int) and limit > 0 else None
    return (first, last)


def _view_range(value: object) -> Range:
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return (value[0], None if value[1] == -1 else value[1])
    return None


def _command(args: dict) -> str:
    cmd = args.get("cmd", args.get("command"))
    if isinstance(cmd, list) and all(isinstance(c, str) for c in cmd):
        # ["bash", "-lc", "cat x"] -> the script; ["cat", "x"] -> joined
        return cmd[-1] if len(cmd) >= 3 and cmd[1] in ("-c", "-lc") else shlex.join(cmd)
    return cmd if isinstance(cmd, str) else ""


def _shell_read(command: str) -> tuple[str, Range] | None:
    """`cat FILE`, `nl FILE`, `cat -n FILE`, `sed -n 'A,Bp' FILE`, `head -n N FILE`: one simple command only."""
    if any(op in command for op in ("|", ";", "&&", "||", ">", "<", "$(", "`")):
        return None
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    if len(words) < 2:
        return None
    tool, rest = words[0], words[1:]
    if tool in ("cat", "nl"):
        files = [w for w in rest if not w.startswith("-")]
        return (_norm(files[0]), None) if len(files) == 1 else None
    if tool == "sed" and len(rest) == 3 and rest[0] == "-n":
        match = _SED_RANGE.match(rest[1])
        if match:
            first = int(match[1])
            return _norm(rest[2]), (first, int(match[2]) if match[2] else first)
    if tool == "head" and len(rest) == 3 and rest[0] == "-n" and rest[1].isdigit():
        return _norm(rest[2]), (1, int(rest[1]))
    return None
