"""Bringing back what a marker elided, and the retrieve tool the model calls to ask for it."""

from __future__ import annotations

import copy
from typing import Callable, Mapping

from .config import Wire
from .errors import HeadroomError
from .markers import RETRIEVE_TOOL_NAME

Lookup = Mapping[str, str] | Callable[[str], "str | None"]

_DESCRIPTION = (
    "Fetch content that Headroom elided from an earlier tool result. Call it with the id shown in a "
    "[[headroom: ...; retrieve id=...]] marker when you need what was left out. Give `query` to get only "
    "the lines that contain it, or `offset`/`limit` (0-based line numbers) for a slice; give neither for everything."
)

_PARAMETERS = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "description": "The retrieval id from the marker."},
        "query": {"type": "string", "description": "Return only lines containing this text (case-insensitive)."},
        "offset": {"type": "integer", "minimum": 0, "description": "First line to return (0-based)."},
        "limit": {"type": "integer", "minimum": 1, "description": "Number of lines to return."},
    },
    "required": ["id"],
}


class RetrievalError(HeadroomError, LookupError):
    """The id is unknown or expired; the message is written for the model to act on."""


def retrieve(
    originals: Lookup, id: str, query: str | None = None, offset: int | None = None, limit: int | None = None
) -> str:
    """Return what a marker elided: all of it, a slice of lines, or the lines that contain `query`.

    >>> retrieve({"a1b2": "one\\ntwo\\nthree"}, "a1b2", offset=1, limit=1)
    'two'
    >>> retrieve({"a1b2": "one\\ntwo\\nthree"}, "a1b2", query="THREE")
    '3: three'
    """
    text = originals(id) if callable(originals) else originals.get(id)
    if text is None:
        raise RetrievalError(
            f"No content is stored under id {id!r}: it is unknown or has expired. Work from the text you have, "
            "or run the tool again to get a fresh result."
        )
    if query is None and offset is None and limit is None:
        return text
    lines = text.split("\n")
    numbered = list(enumerate(lines, start=1))
    if query:
        needle = query.lower()
        numbered = [(n, line) for n, line in numbered if needle in line.lower()]
    start = offset or 0
    stop = None if limit is None else start + limit
    picked = numbered[start:stop]
    if query:
        if not picked:
            return f"No line of {id} contains {query!r} ({len(lines)} lines in all)."
        return "\n".join(f"{n}: {line}" for n, line in picked)
    return "\n".join(line for _, line in picked)


def retrieve_tool(wire: Wire | str) -> dict:
    """The retrieve tool's definition in the given wire format's own shape (a fresh copy each call)."""
    wire = Wire.parse(wire)
    params = copy.deepcopy(_PARAMETERS)
    if wire is Wire.ANTHROPIC:
        return {"name": RETRIEVE_TOOL_NAME, "description": _DESCRIPTION, "input_schema": params}
    if wire is Wire.OPENAI_CHAT:
        return {"type": "function", "function": {"name": RETRIEVE_TOOL_NAME, "description": _DESCRIPTION, "parameters": params}}
    if wire is Wire.OPENAI_RESPONSES:
        return {"type": "function", "name": RETRIEVE_TOOL_NAME, "description": _DESCRIPTION, "parameters": params}
    return {"functionDeclarations": [{"name": RETRIEVE_TOOL_NAME, "description": _DESCRIPTION, "parameters": params}]}
