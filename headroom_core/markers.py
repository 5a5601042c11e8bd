"""The one marker grammar and id scheme (invariants 5 and 7).

A marker stands where content was dropped. It says what went, in the content's own units, what
was kept, and (when retrieval is on) the id that brings it back:

    [[headroom: 180 of 200 rows elided (kept 20: 4 boundary, 12 errors, 4 query); retrieve id=3f2a9c1b7d4e]]

Lossless rewrites open with a header line of the same family, so they are never rewritten twice:

    [[headroom table: 200 rows; cells are JSON values, bare words are strings]]
"""

from __future__ import annotations

import hashlib
import re

RETRIEVE_TOOL_NAME = "headroom_retrieve"

MARKER_PATTERN = re.compile(
    r"\[\[headroom: (?P<summary>[^\[\]\n]*?)(?:; retrieve id=(?P<id>[0-9a-f]{12}))?\]\]"
)

# Any headroom line, elision marker or lossless header alike: text holding one is not compressed again.
_ANY_HEADROOM = re.compile(r"\[\[headroom[ :]")


def retrieval_id(text: str) -> str:
    """The retrieval id of an original: same text, same id, in every turn and process.

    >>> retrieval_id("hello")
    'be603ad82b17'
    """
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=6).hexdigest()


def marker(summary: str, rid: str | None) -> str:
    """Render one marker; `summary` says what was elided and what was kept."""
    summary = summary.replace("[", "(").replace("]", ")").replace("\n", " ")
    return f"[[headroom: {summary}; retrieve id={rid}]]" if rid else f"[[headroom: {summary}]]"


def lossless_header(description: str) -> str:
    return f"[[headroom {description}]]"


def is_headroom_output(text: str) -> bool:
    """True when `text` already holds a marker or a lossless header (so compressing it again is off)."""
    return _ANY_HEADROOM.search(text) is not None
