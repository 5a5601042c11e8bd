"""Compressors: pure functions `text, Context -> Compressed | None` (None: nothing worth doing).

Each content kind has its own module; the router picks one. A compressor never catches broadly:
the pipeline is the one place that fails open (STYLE 6.4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..config import Config
from ..markers import retrieval_id
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
