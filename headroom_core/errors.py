"""Exceptions of headroom_core.

    HeadroomError                 base of everything the core raises on purpose
    ├── InvalidRequest(ValueError)  the input is not a valid body or message list; names the path
    ├── UnknownWire(ValueError)     `wire=` is not one of the four wire formats
    └── RetrievalError(LookupError) a retrieval id is unknown or expired (in retrieval.py)
"""

from __future__ import annotations

from ._types import Path


class HeadroomError(Exception):
    """Base class of the core's own exceptions."""


class InvalidRequest(HeadroomError, ValueError):
    """The body or message list is malformed; the message starts with the offending path."""

    def __init__(self, path: Path, expected: str, found: object = None, *, found_text: str | None = None) -> None:
        self.path = path
        super().__init__(f"{format_path(path)}: expected {expected}, got {found_text or describe(found)}")


class UnknownWire(HeadroomError, ValueError):
    """`wire=` names no wire format the core knows."""


def format_path(path: Path) -> str:
    """Render a path JSONPath-style: ("messages", 3, "content") -> $.messages[3].content."""
    out = ["$"]
    for part in path:
        out.append(f"[{part}]" if isinstance(part, int) else f".{part}")
    return "".join(out)


def describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__
