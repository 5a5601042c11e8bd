"""Which segments may change at all, and how far (DESIGN invariants 2 and 3)."""

from __future__ import annotations

from enum import Enum

from .config import Config, Mode
from .markers import RETRIEVE_TOOL_NAME, is_headroom_output
from .result import Source
from .segment import Segment


class Allowance(Enum):
    NONE = "none"
    LOSSLESS = "lossless"
    LOSSY = "lossy"


_UNTOUCHABLE = {
    Source.SYSTEM: "system prompt",
    Source.USER_TEXT: "text the user typed",
    Source.ASSISTANT_TEXT: "model output",
    Source.TOOL_CALL: "tool call arguments",
}


def allowance(seg: Segment, config: Config, newest_turn: int, was_sent_compressed: bool = False) -> tuple[Allowance, str]:
    """How far `seg` may be rewritten, and why (the reason goes into its Decision).

    In cache mode an earlier turn is what the provider may have cached: it is rewritten only when
    it was sent compressed before, and then (compression being deterministic) into the same bytes.
    """
    reason = _UNTOUCHABLE.get(seg.source)
    if reason is not None:
        return Allowance.NONE, reason
    if config.mode is Mode.CACHE and seg.turn < newest_turn and not was_sent_compressed:
        return Allowance.NONE, "cache mode: an earlier turn the provider may have cached as it is"
    if seg.tool_name == RETRIEVE_TOOL_NAME:
        return Allowance.NONE, "retrieved original"
    if len(seg.text) < config.min_chars:
        return Allowance.NONE, "under the size floor"
    if is_headroom_output(seg.text):
        return Allowance.NONE, "already compressed"
    if config.lossless:
        return Allowance.LOSSLESS, "lossless mode"
    if seg.tool_name is not None and seg.tool_name in config.protect_tools:
        return Allowance.LOSSLESS, f"protected tool {seg.tool_name}"
    return Allowance.LOSSY, "tool output"
