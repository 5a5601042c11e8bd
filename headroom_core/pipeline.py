"""One pass over a body: segments -> policy -> router -> splice, failing open per segment."""

from __future__ import annotations

import functools
from types import MappingProxyType
from types import ModuleType

from ._types import Body, Path
from .compressors import Compressed, Context
from .config import Config, Mode
from .errors import format_path
from .lifecycle import Staleness, stale_reads
from .markers import is_headroom_output, marker, retrieval_id
from .policy import Allowance, allowance
from .result import Action, Decision, Kind, Result, Source
from .router import route
from .segment import Segment
from .tokens import count_tokens


def run(body: Body, adapter: ModuleType, config: Config, encoding: str) -> Result:
    """Compress every eligible segment of `body` (already validated by `adapter.segments`)."""
    segs = adapter.segments(body)
    newest_turn = max((s.turn for s in segs), default=0)
    # The one sanctioned rewrite of earlier turns, token mode only (invariant 2).
    stale = stale_reads(segs) if config.read_lifecycle and config.mode is Mode.TOKEN and not config.lossless else {}
    texts: dict[Path, str] = {}
    originals: dict[str, str] = {}
    decisions: list[Decision] = []
    tokens_before = tokens_after = 0
    last_user_text = ""
    for i, seg in enumerate(segs):
        if seg.source is Source.USER_TEXT:
            last_user_text = seg.text
        staleness = stale.get(i)
        if staleness is not None and _may_mark_stale(seg, config):
            decision, new_text, seg_originals = _mark_stale(seg, staleness, config, encoding)
        else:
            decision, new_text, seg_originals = _decide(seg, config, encoding, newest_turn, last_user_text)
        decisions.append(decision)
        tokens_before += decision.tokens_before
        tokens_after += decision.tokens_after
        if new_text is not None:
            texts[seg.path] = new_text
            originals.update(seg_originals)
    out = adapter.splice(body, texts) if texts else body
    return Result(
        body=out,
        changed=bool(texts),
        tokens_before=tokens_before,
        tokens_after=tokens_after,
        decisions=tuple(decisions),
        originals=MappingProxyType(originals),
        messages=out.get("messages"),
    )


def _decide(
    seg: Segment, config: Config, encoding: str, newest_turn: int, last_user_text: str
) -> tuple[Decision, str | None, tuple[tuple[str, str], ...]]:
    tokens = count_tokens(seg.text, encoding)
    level, reason = allowance(seg, config, newest_turn)
    if level is Allowance.LOSSY or level is Allowance.LOSSLESS:
        if tokens < config.min_tokens:
            level, reason = Allowance.NONE, "under the token floor"
    if level is Allowance.NONE:
        return _kept(seg, tokens, reason), None, ()
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
        out = _rewrite(seg.text, ctx)
    except Exception as exc:  # invariant 6: this segment goes out as it came in
        return _kept(seg, tokens, f"{type(exc).__name__}: {exc}", Action.FAILED), None, ()
    if out is None:
        return _kept(seg, tokens, "nothing to gain"), None, ()
    after = count_tokens(out.text, encoding)
    if after >= tokens:
        return _kept(seg, tokens, "no saving", kind=out.kind), None, ()
    rid = out.originals[0][0] if len(out.originals) == 1 else None
    decision = Decision(seg.path, seg.source, out.kind, out.action, tokens, after, out.reason, rid)
    return decision, out.text, out.originals


def _may_mark_stale(seg: Segment, config: Config) -> bool:
    protected = seg.tool_name is not None and seg.tool_name in config.protect_tools
    return not protected and not is_headroom_output(seg.text)


def _mark_stale(
    seg: Segment, why: Staleness, config: Config, encoding: str
) -> tuple[Decision, str | None, tuple[tuple[str, str], ...]]:
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
        return _kept(seg, tokens, f"{why.reason} read, but the marker would not be smaller"), None, ()
    decision = Decision(seg.path, seg.source, Kind.TEXT, Action.STALE, tokens, after, summary, rid)
    return decision, text, ((rid, seg.text),) if rid else ()


@functools.lru_cache(maxsize=4096)
def _rewrite(text: str, ctx: Context) -> Compressed | None:
    # Pure in (text, ctx): a conversation resent turn after turn costs one compression per segment.
    return route(text, ctx)


def _kept(seg: Segment, tokens: int, reason: str, action: Action = Action.KEPT, kind: Kind = Kind.TEXT) -> Decision:
    return Decision(seg.path, seg.source, kind, action, tokens, tokens, reason)
