"""Fidelity figures for one compressed conversation: needles, retrieval, structure, marked loss.

A needle is *visible* when it appears verbatim in some text of the compressed messages, or in a
lossless regrouped form of that text: the inverse of the core's lossless rewrites
(`expand_lossless`), each row of a `[[headroom table` rendered back as compact JSON (so a table
cut by a marker still counts row by row), and the compact / default JSON of any text that parses.
A needle is *recoverable* when `retrieve` on an id that a marker in the output carries returns a
text holding it.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterator

from headroom_core import MARKER_PATTERN, RetrievalError, retrieve

try:  # the lossless compressor's inverse, when the core has one
    from headroom_core.compressors.lossless import expand_lossless, parse_table
except ImportError:  # pragma: no cover - older cores
    expand_lossless = None  # type: ignore[assignment]
    parse_table = None  # type: ignore[assignment]

_TABLE_HEADER = re.compile(r"^\[\[headroom table(?P<name> [^:\]]+)?: [0-9]+ rows; (?P<note>[^\]]+)\]\]$")
_HEADER_LINE = re.compile(r"^\[\[headroom[ :]")


@dataclass
class Fidelity:
    needles: int = 0
    visible: int = 0
    recoverable: int = 0  # not visible, but in an original a marker points to
    lost: list[str] = field(default_factory=list)  # neither visible nor recoverable
    hidden: list[str] = field(default_factory=list)  # recoverable only
    structure_errors: list[str] = field(default_factory=list)
    changed_texts: int = 0
    lossless_texts: int = 0
    marked_texts: int = 0
    unmarked_losses: list[str] = field(default_factory=list)  # changed, not expandable, no resolvable marker
    dangling_markers: list[str] = field(default_factory=list)  # marker ids `originals` does not hold
    markers: int = 0


def evaluate(before: list[dict], after: list[dict], originals: Any, needles: tuple[str, ...]) -> Fidelity:
    fid = Fidelity(needles=len(needles))
    fid.structure_errors = structure_errors(before, after)
    leaves_after = [t for _, t in string_leaves(after)]
    ids = sorted({m["id"] for t in leaves_after for m in MARKER_PATTERN.finditer(t) if m["id"]})
    fid.markers = sum(1 for t in leaves_after for _ in MARKER_PATTERN.finditer(t))
    retrieved: list[str] = []
    for rid in ids:
        try:
            retrieved.append(retrieve(originals, rid))
        except RetrievalError:
            fid.dangling_markers.append(rid)
    for needle in needles:
        if any(needle in view for t in leaves_after for view in views(t)):
            fid.visible += 1
        elif any(needle in view for t in retrieved for view in views(t)):
            fid.recoverable += 1
            fid.hidden.append(needle)
        else:
            fid.lost.append(needle)
    _classify_changes(before, after, originals, fid)
    return fid


def needle_present(messages: list[dict], needle: str) -> bool:
    """True when `needle` is in some text of `messages` (same views as for compressed output)."""
    return any(needle in view for _, t in string_leaves(messages) for view in views(t))


def string_leaves(value: Any, path: tuple = ()) -> Iterator[tuple[tuple, str]]:
    """Every string in a JSON-like value, with its path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from string_leaves(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from string_leaves(v, path + (i,))


@functools.lru_cache(maxsize=4096)
def views(text: str) -> tuple[str, ...]:
    """The text and the lossless forms a reader can expand it to."""
    out = [text]
    if "[[headroom" in text:
        expanded = _expand(text)
        if expanded is not None and expanded != text:
            out.append(expanded)
        rows = _table_rows(text)
        if rows:
            out.append("\n".join(rows))
    if "\n" in text:
        for v in list(out):
            flat = _ungroup(v)
            if flat != v:
                out.append(flat)
    if text.lstrip()[:1] in ("{", "["):
        for v in list(out):
            try:
                value = json.loads(v)
            except ValueError:
                continue
            out.append(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
            out.append(json.dumps(value, ensure_ascii=False))
    return tuple(out)


_GROUP_PATH = re.compile(r"^(?:(?P<dir>[^\s:]+):|(?P<path>[^\s:]*[/.][^\s:]*))$")
_GROUPED_MATCH = re.compile(r"^(?P<num>[0-9]+)(?P<sep>[:-])(?P<rest>.*)$")


def _ungroup(text: str) -> str:
    """Undo grouping by file or directory: `path` + `12:text` lines read as `path:12:text`, and a
    `dir:` heading + `name` lines read as `dir/name` (how search and listing output is regrouped)."""
    out: list[str] = []
    group: str | None = None
    is_dir = False
    for line in text.split("\n"):
        m = _GROUP_PATH.match(line)
        if m is not None and not _GROUPED_MATCH.match(line) and (m["dir"] or not (is_dir and group)):
            group, is_dir = (m["dir"], True) if m["dir"] else (m["path"], False)
            out.append(line)
            continue
        if not line.strip():
            group = None
        elif group is not None:
            g = _GROUPED_MATCH.match(line)
            if g is not None and not is_dir:
                out.append(f"{group}:{g['num']}{g['sep']}{g['rest']}")
                continue
            if is_dir and not line.startswith((" ", "[[")):
                out.append(f"{group.rstrip('/')}/{line}")
                continue
        out.append(line)
    return "\n".join(out)


def _expand(text: str) -> str | None:
    if expand_lossless is None:
        return None
    try:
        return expand_lossless(text)
    except Exception:  # a form the inverse does not know (e.g. a lossy mix): try piece by piece
        pass
    pieces, block = [], []
    for line in text.split("\n") + [None]:
        if line is None or (MARKER_PATTERN.fullmatch(line) is not None):
            if block:
                chunk = "\n".join(block)
                try:
                    pieces.append(expand_lossless(chunk))
                except Exception:
                    pieces.append(chunk)
            if line is not None:
                pieces.append(line)
            block = []
        else:
            block.append(line)
    return "\n".join(pieces)


def _table_rows(text: str) -> list[str]:
    """Each row of every `[[headroom table` section, parsed alone and dumped as compact JSON."""
    if parse_table is None:
        return []
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        m = _TABLE_HEADER.match(lines[i])
        if m is None or i + 1 >= len(lines):
            i += 1
            continue
        header = f"[[headroom table: 1 rows; {m['note']}]]"
        i += 1
        while i < len(lines) and MARKER_PATTERN.fullmatch(lines[i]):
            i += 1
        if i >= len(lines):
            break
        columns = lines[i]
        i += 1
        while i < len(lines) and lines[i] and not _TABLE_HEADER.match(lines[i]):
            if _HEADER_LINE.match(lines[i]):
                i += 1
                continue
            try:
                row = parse_table(f"{header}\n{columns}\n{lines[i]}")
                out.append(json.dumps(row[0] if isinstance(row, list) and row else row, ensure_ascii=False, separators=(",", ":")))
            except Exception:
                pass
            i += 1
    return out


# --- structure ----------------------------------------------------------------------------------

def structure_errors(before: list[dict], after: list[dict]) -> list[str]:
    """What a provider or client would reject or misread: roles, ids, pairing, order, untouched fields."""
    errs: list[str] = []
    try:
        if json.loads(json.dumps(after)) != after:
            errs.append("output does not survive a JSON round trip")
    except (TypeError, ValueError) as exc:
        errs.append(f"output is not JSON serialisable: {exc}")
        return errs
    if not isinstance(after, list) or len(after) != len(before):
        return errs + [f"message count {len(before)} -> {len(after) if isinstance(after, list) else type(after)}"]
    for i, (b, a) in enumerate(zip(before, after)):
        where = f"messages[{i}]"
        if set(b) != set(a):
            errs.append(f"{where}: keys {sorted(b)} -> {sorted(a)}")
        if b.get("role") != a.get("role"):
            errs.append(f"{where}: role {b.get('role')} -> {a.get('role')}")
        for key in ("tool_calls", "tool_call_id", "name"):
            if b.get(key) != a.get(key):
                errs.append(f"{where}.{key} changed")
        if b.get("role") in ("system", "developer") or (b.get("role") == "user" and isinstance(b.get("content"), str)):
            if b.get("content") != a.get("content"):
                errs.append(f"{where}: {b.get('role')} text changed")
        bc, ac = b.get("content"), a.get("content")
        if isinstance(bc, list):
            if not isinstance(ac, list) or len(ac) != len(bc):
                errs.append(f"{where}.content: block count changed")
                continue
            for j, (bb, ab) in enumerate(zip(bc, ac)):
                w = f"{where}.content[{j}]"
                if not isinstance(bb, dict) or not isinstance(ab, dict):
                    continue
                if set(bb) != set(ab) or bb.get("type") != ab.get("type"):
                    errs.append(f"{w}: type/keys changed")
                for key in ("id", "name", "input", "tool_use_id", "is_error", "cache_control"):
                    if bb.get(key) != ab.get(key):
                        errs.append(f"{w}.{key} changed")
                if bb.get("type") == "text" and b.get("role") == "user" and bb != ab:
                    errs.append(f"{w}: user text changed")
                if bb.get("type") in ("thinking", "redacted_thinking", "image", "document") and bb != ab:
                    errs.append(f"{w}: {bb.get('type')} block changed")
    errs.extend(_pairing_errors(after))
    return errs


def _pairing_errors(messages: list[dict]) -> list[str]:
    errs: list[str] = []
    for i, m in enumerate(messages):
        content = m.get("content")
        if m.get("role") == "assistant" and isinstance(content, list):
            ids = [b.get("id") for b in content if isinstance(b, dict) and b.get("type") == "tool_use"]
            if ids:
                nxt = messages[i + 1].get("content") if i + 1 < len(messages) else None
                got = [b.get("tool_use_id") for b in nxt or () if isinstance(b, dict) and b.get("type") == "tool_result"]
                if sorted(ids) != sorted(got):
                    errs.append(f"messages[{i}]: tool_use ids {ids} answered by {got}")
        if m.get("role") == "assistant" and m.get("tool_calls"):
            ids = [c.get("id") for c in m["tool_calls"]]
            got = [x.get("tool_call_id") for x in messages[i + 1 : i + 1 + len(ids)] if x.get("role") == "tool"]
            if sorted(ids) != sorted(got):
                errs.append(f"messages[{i}]: tool_calls {ids} answered by {got}")
    return errs


def _classify_changes(before: list[dict], after: list[dict], originals: Any, fid: Fidelity) -> None:
    old = dict(string_leaves(before))
    for path, new in string_leaves(after):
        prev = old.get(path)
        if prev is None or prev == new:
            continue
        fid.changed_texts += 1
        if _lossless_equal(prev, new):
            fid.lossless_texts += 1
            continue
        ids = [m["id"] for m in MARKER_PATTERN.finditer(new)]
        # One resolvable id per text is enough: id-less markers beside it point into the same original.
        if any(ids) and all(_resolves(originals, rid) for rid in ids if rid):
            fid.marked_texts += 1
        else:
            where = "".join(f"[{p!r}]" for p in path)
            fid.unmarked_losses.append(f"{where}: {len(prev)} -> {len(new)} chars, markers {ids or 'none'}")


def _lossless_equal(original: str, new: str) -> bool:
    expanded = _expand(new)
    if expanded is None:
        return False
    if expanded == original:
        return True
    try:
        return json.loads(expanded) == json.loads(original)
    except ValueError:
        return False


def _resolves(originals: Any, rid: str) -> bool:
    try:
        retrieve(originals, rid)
        return True
    except RetrievalError:
        return False
