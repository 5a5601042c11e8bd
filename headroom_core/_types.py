"""Type aliases shared by the core. Forwarded bodies stay plain dicts and lists (STYLE 3.4)."""

from __future__ import annotations

from typing import Any, Union

Body = dict[str, Any]
PathPart = Union[str, int]
Path = tuple[PathPart, ...]
