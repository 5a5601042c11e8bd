"""What `compress` and `compress_request` return: the new body, counts and one Decision per segment."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Any, Mapping

from ._types import Body, Path
from .tokens import DEFAULT_ENCODING, count_tokens


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
    """What happened to one segment, and why. Token counts of segments that were not candidates are
    counted only when read (content that cannot change need not be tokenized on the hot path)."""

    path: Path
    source: Source
    kind: Kind
    action: Action
    reason: str
    retrieval_id: str | None = None
    _counts: tuple[int, int] | None = field(default=None, repr=False)
    _text: str = field(default="", repr=False, compare=False)
    _encoding: str = field(default=DEFAULT_ENCODING, repr=False, compare=False)

    @property
    def tokens_before(self) -> int:
        return self._counts[0] if self._counts is not None else count_tokens(self._text, self._encoding)

    @property
    def tokens_after(self) -> int:
        return self._counts[1] if self._counts is not None else count_tokens(self._text, self._encoding)

    @property
    def changed(self) -> bool:
        return self.action in (Action.COMPACTED, Action.COMPRESSED, Action.STALE)


@dataclass(frozen=True, slots=True)
class Result:
    """The outcome of one call. `body` is the whole request; `messages` its message list, when it has one.

    `compressed_ids` holds the retrieval id of the original text of every segment rewritten here. In
    cache mode, pass the ids of earlier calls back as `previously_compressed`, so the turns the
    provider cached in their compressed form are sent in that same form again.
    """

    body: Body
    changed: bool
    decisions: tuple[Decision, ...]
    originals: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    messages: Any = None
    compressed_ids: frozenset[str] = frozenset()

    @property
    def tokens_before(self) -> int:
        return sum(d.tokens_before for d in self.decisions)

    @property
    def tokens_after(self) -> int:
        return sum(d.tokens_after for d in self.decisions)

    @property
    def tokens_saved(self) -> int:
        """Exact, and cheap: only rewritten segments are counted."""
        return sum(d.tokens_before - d.tokens_after for d in self.decisions if d.changed)
