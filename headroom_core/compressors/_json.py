"""Strict JSON in and compact JSON out, shared by the lossless forms and the crusher.

Strict: duplicate keys and NaN/Infinity are refused, because a compact or tabular rewrite of them
could not give back the same value.
"""

from __future__ import annotations

import json
from typing import Any

# What json.loads returns: None | bool | int | float | str | list[Json] | dict[str, Json].
Json = Any

NOT_JSON = object()


def strict_loads(text: str) -> Json:
    """The value of `text`, or NOT_JSON when it is not strict JSON."""
    try:
        if text.startswith("\ufeff"):  # what json.loads refuses before decoding
            raise ValueError("Unexpected UTF-8 BOM")
        return STRICT_DECODER.decode(text)
    except (ValueError, RecursionError):
        return NOT_JSON


def compact_dumps(value: Json) -> str:
    return _COMPACT_ENCODER.encode(value)


def _unique_pairs(pairs: list[tuple[str, Json]]) -> dict[str, Json]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("duplicate key: a rewrite would drop one")
    return out


def _refuse_constant(name: str) -> Json:
    raise ValueError(f"{name} is not JSON")


STRICT_DECODER = json.JSONDecoder(object_pairs_hook=_unique_pairs, parse_constant=_refuse_constant)
# What json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False) builds on every
# call, built once (an encoder keeps no state between calls).
_COMPACT_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
