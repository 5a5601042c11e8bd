"""Bringing back what a marker elided, and the retrieve tool the model calls to ask for it."""

from __future__ import annotations

import copy
import json
from typing import Any, Callable, Mapping

from .config import Wire
from .errors import HeadroomError
from .markers import RETRIEVE_TOOL_NAME

Lookup = Mapping[str, str] | Callable[[str], "str | None"]

_DESCRIPTION = (
    "Fetch content that Headroom elided from an earlier tool result. Call it with the id shown in a "
    "[[headroom: ...; retrieve id=...]] marker when you need what was left out. Give `query` to get only "
    "the lines (for JSON: the array elements) that contain it, or `offset`/`limit` (0-based line numbers; for JSON, "
    "element indexes of its largest array) for a slice; give neither for everything."
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
    >>> retrieve({"c3d4": '{"items": [{"id": 1}, {"id": 42}], "total": 2}'}, "c3d4", query='"id": 42')
    'items[1]: {"id":42}'
    """
    text = originals(id) if callable(originals) else originals.get(id)
    if text is None:
        raise RetrievalError(
            f"No content is stored under id {id!r}: it is unknown or has expired. Work from the text you have, "
            "or run the tool again to get a fresh result."
        )
    if query is None and offset is None and limit is None:
        return text
    elements = _json_elements(text)
    if elements:
        found = _retrieve_elements(id, elements, query, offset, limit)
        if found is not None:
            return found
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


def _json_elements(text: str) -> list[tuple[str, Any]]:
    """(path, element) for the elements of the largest array of a JSON original, or [] for other text."""
    if text.lstrip()[:1] not in ("{", "["):
        return []
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return []
    best: tuple[str, list[Any]] | None = None
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, list):
            if len(item) >= 2 and (best is None or len(item) > len(best[1])):
                best = (path, item)
            stack.extend((f"{path}[{i}]", v) for i, v in reversed(list(enumerate(item))))
        elif isinstance(item, dict):
            stack.extend((f"{path}.{k}" if path else str(k), v) for k, v in reversed(list(item.items())))
    if best is None:
        return []
    return [(f"{best[0]}[{i}]", v) for i, v in enumerate(best[1])]


def _retrieve_elements(
    id: str, elements: list[tuple[str, Any]], query: str | None, offset: int | None, limit: int | None
) -> str | None:
    """The elements matching `query` (or a slice by index), one compact JSON element per line; None to fall back to lines."""
    rendered = [(path, json.dumps(v, ensure_ascii=False, separators=(",", ":"))) for path, v in elements]
    if query:
        needle = query.lower()
        rendered = [
            (path, text)
            for (path, text), (_, v) in zip(rendered, elements)
            if needle in text.lower() or needle in json.dumps(v, ensure_ascii=False).lower()
        ]
        if not rendered:
            return None  # the match may be outside the array (a count, a page field): search lines instead
    start = offset or 0
    stop = None if limit is None else start + limit
    picked = rendered[start:stop]
    if not picked:
        return f"No element of {id} in that range ({len(elements)} elements in all)."
    return "\n".join(f"{path}: {text}" for path, text in picked)


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
