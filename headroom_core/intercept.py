"""Tool-result interception: the first read of a large code file is answered with its outline.

The decision is taken on first sight, from the read and what came before it, so it is
cache-stable: the outline goes out identically every later turn. Any later read of the same file
passes whole, so the model gets the code it asks for once it has seen the map.
"""

from __future__ import annotations

import dataclasses

from .compressors import Compressed, Context
from .compressors.code import compress_code
from .markers import marker
from .tokens import count_tokens

# Reads smaller than this are cheap enough to pass whole.
MIN_TOKENS = 1500
REASON = "outline of the first read of "


def outline_first_read(text: str, file: str, ctx: Context) -> Compressed | None:
    """The outline of a first whole-file read plus one line on how to read a part, or None."""
    if count_tokens(text, ctx.encoding) < MIN_TOKENS:
        return None
    outline = compress_code(text, dataclasses.replace(ctx, config=dataclasses.replace(ctx.config, code_aware=True)))
    if outline is None:
        return None
    hint = marker(
        f"first read of {file} answered with its outline; read it again for the code "
        "(whole, or with offset and limit for a range of lines): a later read passes whole",
        None,
    )
    return dataclasses.replace(outline, text=f"{outline.text}\n{hint}", reason=REASON + file)
