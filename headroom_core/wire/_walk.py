"""Helpers every wire adapter shares: validation with paths, compact args text, copy-on-write splice."""

from __future__ import annotations

import json
from typing import Any, Iterable, Iterator, Mapping

from .._types import Body, Path
from ..errors import InvalidRequest


def expect_dict(value: Any, path: Path, what: str = "an object") -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidRequest(path, what, value)
    return value


def expect_list(value: Any, path: Path, what: str = "an array") -> list[Any]:
    if not isinstance(value, list):
        raise InvalidRequest(path, what, value)
    return value


def expect_role(message: dict[str, Any], path: Path, default: str | None = None) -> str:
    """The `role` of a message or item (`default` when it has none), which must be a string."""
    role = message.get("role", default)
    if not isinstance(role, str):
        raise InvalidRequest(path + ("role",), "a role string", role)
    return role


def messages(body: Body, key: str, default_role: str | None = None) -> Iterator[tuple[Path, dict[str, Any], str]]:
    """(path, message, role) for each message of the array `body[key]`, checked as it goes: each
    must be an object with a string role (`default_role` when it has none)."""
    for i, message in enumerate(expect_list(body[key], (key,))):
        path: Path = (key, i)
        message = expect_dict(message, path)
        yield path, message, expect_role(message, path, default_role)


def expect_body(body: Any, required: str, wire_name: str, foreign: Iterable[str]) -> Body:
    """Check the top level: a dict that has `required` and none of another wire's telltale keys."""
    if not isinstance(body, dict):
        raise InvalidRequest((), f"{wire_name} request body (an object)", body)
    if required not in body:
        hint = next((k for k in foreign if k in body), None)
        found = f"an object with '{hint}' instead" if hint else "an object without it"
        raise InvalidRequest((), f"{wire_name} request body with '{required}'", found_text=found)
    return body


def args_text(value: Any) -> str:
    """A tool call's arguments as compact JSON text; strings (already JSON on OpenAI wires) stay as sent."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=False)


def splice(body: Body, texts: Mapping[Path, str]) -> Body:
    """A copy of `body` with the string at each path replaced; containers off those paths are shared.

    >>> b = {"messages": [{"role": "user", "content": "a"}], "model": "m"}
    >>> splice(b, {("messages", 0, "content"): "b"})["messages"][0]["content"], b["messages"][0]["content"]
    ('b', 'a')
    """
    root: Body = dict(body)
    copied: dict[Path, Any] = {(): root}
    for path, text in texts.items():
        parent: Any = root
        for depth in range(len(path) - 1):
            prefix = path[: depth + 1]
            node = copied.get(prefix)
            if node is None:
                original = parent[path[depth]]
                node = list(original) if isinstance(original, list) else dict(original)
                parent[path[depth]] = node
                copied[prefix] = node
            parent = node
        parent[path[-1]] = text
    return root
