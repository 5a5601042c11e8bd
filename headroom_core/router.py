"""Routes an eligible segment's text to the compressors for its content kind."""

from __future__ import annotations

from .compressors import Compressed, Context
from .compressors.lossless import compact_lossless


def route(text: str, ctx: Context) -> Compressed | None:
    """The best rewrite of `text` allowed by `ctx`, or None when nothing pays."""
    return compact_lossless(text, ctx)
