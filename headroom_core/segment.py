"""A segment: one piece of text of a body, with its place and what produced it (DESIGN 1, step 1)."""

from __future__ import annotations

from dataclasses import dataclass

from ._types import Path
from .result import Source


@dataclass(frozen=True, slots=True)
class Segment:
    """One piece of text. `turn` counts the model turns before it, so the newest turn has the largest."""

    path: Path
    text: str
    source: Source
    turn: int
    tool_name: str | None = None
    # The call's arguments as compact JSON text (tool results carry their call's; tool calls their own).
    tool_args: str | None = None
    tool_call_id: str | None = None
    is_error: bool = False
