"""The one frozen, typed set of options every layer reads (DESIGN 1, STYLE 3.2)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import Enum
from typing import Any

from .errors import UnknownWire


class Wire(str, Enum):
    """The request formats the core reads and writes."""

    ANTHROPIC = "anthropic"
    OPENAI_CHAT = "openai-chat"
    OPENAI_RESPONSES = "openai-responses"
    GEMINI = "gemini"

    @classmethod
    def parse(cls, value: "Wire | str") -> "Wire":
        try:
            return cls(value)
        except ValueError:
            names = ", ".join(sorted(w.value for w in cls))
            raise UnknownWire(f"wire={value!r}: expected one of {names}") from None


class Mode(str, Enum):
    """token: compress every eligible segment; cache: only the newest turn (never what may be cached)."""

    TOKEN = "token"
    CACHE = "cache"


@dataclass(frozen=True, slots=True)
class Config:
    """Every option of the core. Variants come from `dataclasses.replace`; a Config is hashable.

    >>> Config(mode="cache").mode is Mode.CACHE
    True
    """

    mode: Mode = Mode.TOKEN
    # Fraction of tokens lossy compressors aim to keep (None: each compressor's own default).
    target_ratio: float | None = None
    # Only reversible, marker-free rewrites (compact JSON, tables, folds).
    lossless: bool = False
    # tree-sitter outlines for code (the `code` extra).
    code_aware: bool = False
    # Tool names whose results are never lossy-compressed (lossless compaction still applies).
    protect_tools: frozenset[str] = frozenset()
    # Rewrite reads that a later edit or re-read made stale (token mode only).
    read_lifecycle: bool = True
    # Answer the first read of a large code file with its outline.
    intercept_tool_results: bool = False
    # Reversible compression: markers carry retrieval ids and `originals` holds what they elide.
    ccr: bool = True
    # Floors: a segment shorter than min_chars is not even tokenized; one under min_tokens is kept.
    min_chars: int = 400
    min_tokens: int = 100
    # Encoding used for counts when no model name maps to one.
    encoding: str = "o200k_base"

    def __post_init__(self) -> None:
        object.__setattr__(self, "mode", Mode(self.mode))
        if not isinstance(self.protect_tools, frozenset):
            object.__setattr__(self, "protect_tools", frozenset(self.protect_tools))
        if self.target_ratio is not None and not 0.0 < self.target_ratio <= 1.0:
            raise ValueError(f"target_ratio={self.target_ratio!r}: expected a number in (0, 1]")
        if self.min_chars < 0 or self.min_tokens < 0:
            raise ValueError("min_chars and min_tokens must be >= 0")

    @classmethod
    def from_options(cls, config: "Config | None" = None, **options: Any) -> "Config":
        """A Config from keyword options, on top of `config` when given; unknown names raise."""
        base = config if config is not None else cls()
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise TypeError(f"unknown option(s) {', '.join(unknown)}; expected some of {', '.join(sorted(known))}")
        return dataclasses.replace(base, **options) if options else base
