"""What `compress` and `compress_request` return: the new body, counts and one Decision per segment."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Any, Mapping

from ._types import Body, Path


class Source(str, Enum):
    """Who wrote a segment, in our words (the wire adapters translate provider roles)."""

    SYSTEM = "system"
    USER_TEXT = "user_text"
    ASSISTANT_TEXT = "assistant_text"
    TOOL_CALL = "tool_call"
    TOOL_RESULT = "tool_result"


class Kind(str, Enum):
    """What a segment's text is, as the router sees it."""

    TEXT = "text"
    JSON = "json"
    CODE = "code"
    LOG = "log"
    SEARCH = "search"
    LISTING = "listing"
    DIFF = "diff"
    TABLE = "table"
    PROSE = "prose"


class Action(str, Enum):
    """What happened to a segment."""

    KEPT = "kept"              # left exactly as it was
    COMPACTED = "compacted"    # rewritten losslessly (the original is recoverable from the text itself)
    COMPRESSED = "compressed"  # parts dropped behind a marker
    STALE = "stale"            # replaced by a read-lifecycle marker
    FAILED = "failed"          # a compressor raised; kept as it was (invariant 6)


@dataclass(frozen=True, slots=True)
class Decision:
    path: Path
    source: Source
    kind: Kind
    action: Action
    tokens_before: int
    tokens_after: int
    reason: str
    retrieval_id: str | None = None


@dataclass(frozen=True, slots=True)
class Result:
    """The outcome of one call. `body` is the whole request; `messages` its message list, when it has one."""

    body: Body
    changed: bool
    tokens_before: int
    tokens_after: int
    decisions: tuple[Decision, ...]
    originals: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    messages: Any = None

    @property
    def tokens_saved(self) -> int:
        return self.tokens_before - self.tokens_after
