"""Compressors: pure functions `text, Context -> Compressed | None` (None: nothing worth doing).

Each content kind has its own module; the router picks one. A compressor never catches broadly:
the pipeline is the one place that fails open (STYLE 6.4). This module holds what they share: the
`Context` and `Compressed` records and the helpers that build an elided or a regrouped result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from ..config import Config
from ..markers import is_headroom_output, lossless_header, retrieval_id
from ..result import Action, Kind


@dataclass(frozen=True, slots=True)
class Context:
    """What a compressor may know about a segment besides its text. Only what comes before it."""

    config: Config
    # The last user text before the segment plus the producing tool call's arguments (cache-stable).
    query: str = ""
    tool_name: str | None = None
    tool_args: str | None = None
    encoding: str = "o200k_base"
    # True when only reversible, marker-free rewrites are allowed (lossless mode, protected tools).
    lossless_only: bool = False

    @property
    def ccr(self) -> bool:
        return self.config.ccr


@dataclass(frozen=True, slots=True)
class Compressed:
    """A compressor's output: the new text and, for each marker it wrote, the exact original."""

    text: str
    kind: Kind
    action: Action
    reason: str
    originals: tuple[tuple[str, str], ...] = ()


def elision(original: str, new_text_for: Callable[[str | None], str], kind: Kind, reason: str, ctx: Context) -> Compressed:
    """A lossy result: `new_text_for(retrieval_id)` renders the text with its markers; the original
    is kept under that id when retrieval is on (without it, markers carry no id and nothing is kept)."""
    rid = retrieval_id(original) if ctx.ccr else None
    return Compressed(
        text=new_text_for(rid),
        kind=kind,
        action=Action.COMPRESSED,
        reason=reason,
        originals=((rid, original),) if rid else (),
    )


def selectable_lines(text: str, ctx: Context, min_lines: int) -> list[str] | None:
    """The lines of `text` without its trailing blank ones, or None when a line-selecting compressor
    must leave it alone: lossless only, already Headroom output, or fewer than `min_lines` lines."""
    if ctx.lossless_only or is_headroom_output(text):
        return None
    lines = text.split("\n")
    while lines and not lines[-1]:
        lines.pop()
    return lines if len(lines) >= min_lines else None


def compacted(text: str, description: str, body: str, kind: Kind, reason: str) -> Compressed | None:
    """A lossless regrouping of `text`: `body` under a header with its `description`, or None when
    it is not shorter. The header, like every lossless form's, keeps a later pass from regrouping
    it again (invariant 7)."""
    out = lossless_header(description) + "\n" + body
    if len(out) >= len(text):
        return None
    return Compressed(out, kind, Action.COMPACTED, reason)


def runs(keep: Sequence[bool]) -> list[tuple[int, int, bool]]:
    """`keep` cut into its longest runs of equal flags: (start, stop, is_kept), in order.

    >>> runs([True, False, False, True])
    [(0, 1, True), (1, 3, False), (3, 4, True)]
    """
    out: list[tuple[int, int, bool]] = []
    start = 0
    for i in range(1, len(keep) + 1):
        if i == len(keep) or keep[i] != keep[start]:
            out.append((start, i, bool(keep[start])))
            start = i
    return out
