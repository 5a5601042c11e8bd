"""One pass over a body: segments -> policy -> router -> splice, failing open per segment."""

from __future__ import annotations

import functools
from collections.abc import Container
from types import MappingProxyType, ModuleType

from ._types import Body, Path
from .compressors import Compressed, Context
from .config import Config, Mode
from .errors import format_path
from .intercept import REASON as OUTLINE_REASON
from .intercept import outline_first_read
from .lifecycle import Staleness, read_results, stale_reads
from .markers import is_headroom_output, marker, retrieval_id
from .policy import Allowance, allowance
from .result import Action, Decision, Kind, Result, Source
from .router import route
from .segment import Segment
from .tokens import ENCODINGS, MAX_TOKEN_BYTES, count_tokens

# (decision, new text or None, originals the new text's markers point to)
_Outcome = tuple[Decision, "str | None", tuple[tuple[str, str], ...]]


def run(body: Body, adapter: ModuleType, config: Config, encoding: str, previously_compressed: Container[str]) -> Result:
    """Compress every eligible segment of `body` (validated by `adapter.segments` on the way)."""
    segs = adapter.segments(body)
    newest_turn = max((s.turn for s in segs), default=0)
    # The one sanctioned rewrite of earlier turns, token mode only (invariant 2).
    stale = stale_reads(segs) if config.read_lifecycle and config.mode is Mode.TOKEN and not config.lossless else {}
    texts: dict[Path, str] = {}
    originals: dict[str, str] = {}
    compressed_ids: set[str] = set()
    decisions: list[Decision] = []
    reads = read_results(segs) if config.intercept_tool_results else {}
    seen_files: set[str] = set()
    outlined_files: set[str] = set()
    last_user_text = ""
    for i, seg in enumerate(segs):
        if seg.source is Source.USER_TEXT:
            last_user_text = seg.text
        staleness = stale.get(i)
        read = reads.get(i)
        if staleness is not None and _may_mark_stale(seg, config):
            decision, new_text, seg_originals = _mark_stale(seg, staleness, config, encoding)
        elif read is not None and read.file in outlined_files:
            decision, new_text, seg_originals = _kept(seg, encoding, f"a read of {read.file} after its outline passes whole"), None, ()
        else:
            first_read = read.file if read is not None and read.range is None and read.file not in seen_files else None
            was_sent_compressed = _was_sent_compressed(seg, config, newest_turn, previously_compressed)
            decision, new_text, seg_originals = _decide(
                seg, config, encoding, newest_turn, last_user_text, was_sent_compressed, first_read
            )
            if first_read is not None and new_text is not None and decision.reason == OUTLINE_REASON + first_read:
                outlined_files.add(first_read)
        if read is not None:
            seen_files.add(read.file)
        decisions.append(decision)
        if new_text is not None:
            texts[seg.path] = new_text
            originals.update(seg_originals)
            compressed_ids.add(retrieval_id(seg.text))
    out = adapter.splice(body, texts) if texts else body
    return Result(
        body=out,
        changed=bool(texts),
        decisions=tuple(decisions),
        originals=MappingProxyType(originals),
        messages=out.get("messages"),
        compressed_ids=frozenset(compressed_ids),
    )


def _was_sent_compressed(seg: Segment, config: Config, newest_turn: int, previously_compressed: Container[str]) -> bool:
    # Only cache mode asks, and only of earlier tool results: hashing the rest would be wasted work.
    if config.mode is not Mode.CACHE or seg.turn >= newest_turn or seg.source is not Source.TOOL_RESULT:
        return False
    return retrieval_id(seg.text) in previously_compressed


def _decide(
    seg: Segment,
    config: Config,
    encoding: str,
    newest_turn: int,
    last_user_text: str,
    was_sent_compressed: bool,
    first_read: str | None = None,
) -> _Outcome:
    level, reason = allowance(seg, config, newest_turn, was_sent_compressed)
    if level is Allowance.NONE:
        return _kept(seg, encoding, reason), None, ()
    # A token is at most MAX_TOKEN_BYTES bytes and a character at least one byte, so a text this long
    # is over the token floor without counting; a long text that nothing rewrites (a source file read
    # whole) is then counted only if its decision is read (STYLE 9.2).
    might_be_short = len(seg.text) < config.min_tokens * MAX_TOKEN_BYTES or encoding not in ENCODINGS
    if might_be_short and count_tokens(seg.text, encoding) < config.min_tokens:  # an unknown encoding raises here
        return _kept(seg, encoding, "under the token floor"), None, ()
    query = f"{last_user_text}\n{seg.tool_args}" if seg.tool_args else last_user_text
    ctx = Context(
        config=config,
        query=query,
        tool_name=seg.tool_name,
        tool_args=seg.tool_args,
        encoding=encoding,
        lossless_only=level is Allowance.LOSSLESS,
    )
    try:
        out = _outline(seg.text, first_read, ctx) if first_read is not None and level is Allowance.LOSSY else None
        out = out or _rewrite(seg.text, ctx)
    except Exception as exc:  # invariant 6: this segment goes out as it came in
        return _kept(seg, encoding, f"{type(exc).__name__}: {exc}", Action.FAILED), None, ()
    if out is None:
        return _kept(seg, encoding, "nothing to gain"), None, ()
    tokens = count_tokens(seg.text, encoding)
    after = count_tokens(out.text, encoding)
    if after >= tokens:
        return _kept(seg, encoding, "no saving", kind=out.kind), None, ()
    rid = out.originals[0][0] if len(out.originals) == 1 else None
    decision = Decision(seg.path, seg.source, out.kind, out.action, out.reason, rid, (tokens, after))
    return decision, out.text, out.originals


def _may_mark_stale(seg: Segment, config: Config) -> bool:
    protected = seg.tool_name is not None and seg.tool_name in config.protect_tools
    return not protected and not is_headroom_output(seg.text)


def _mark_stale(seg: Segment, why: Staleness, config: Config, encoding: str) -> _Outcome:
    rid = retrieval_id(seg.text) if config.ccr else None
    lines = seg.text.count("\n") + 1
    later = format_path(why.by_path)
    if why.reason == "stale":
        summary = f"stale read of {why.file} elided ({lines} lines): the file was changed later by {why.by_tool} at {later}"
    else:
        summary = f"superseded read of {why.file} elided ({lines} lines): read again later by {why.by_tool} at {later}"
    text = marker(summary, rid)
    tokens, after = count_tokens(seg.text, encoding), count_tokens(text, encoding)
    if after >= tokens:
        return _kept(seg, encoding, f"{why.reason} read, but the marker would not be smaller"), None, ()
    decision = Decision(seg.path, seg.source, Kind.TEXT, Action.STALE, summary, rid, (tokens, after))
    return decision, text, ((rid, seg.text),) if rid else ()


@functools.lru_cache(maxsize=1024)
def _outline(text: str, file: str, ctx: Context) -> Compressed | None:
    return outline_first_read(text, file, ctx)


@functools.lru_cache(maxsize=4096)
def _rewrite(text: str, ctx: Context) -> Compressed | None:
    # Pure in (text, ctx): a conversation resent turn after turn costs one compression per segment.
    return route(text, ctx)


def _kept(seg: Segment, encoding: str, reason: str, action: Action = Action.KEPT, kind: Kind = Kind.TEXT) -> Decision:
    return Decision(seg.path, seg.source, kind, action, reason, _text=seg.text, _encoding=encoding)
