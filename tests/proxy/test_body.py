"""Request bodies: malformed JSON, size limits, a 50 MB body streamed with bounded memory, gzip."""

from __future__ import annotations

import gzip
import hashlib
import json
import tracemalloc
from collections.abc import Iterator

import anthropic
import httpx
import openai
import pytest

from tests.proxy.servers import Faults, running_proxy
from tests.support.fake_upstream import RunningFakeUpstream

HEADERS = {"x-api-key": "k", "anthropic-version": "2023-06-01"}


def test_malformed_json_is_400_in_the_callers_dialect(fake: RunningFakeUpstream, proxy: str) -> None:
    before = len(fake.requests)
    response = httpx.post(f"{proxy}/v1/messages", content=b'{"model": "x", "messages": [', headers=HEADERS)
    assert response.status_code == 400
    assert response.json()["type"] == "error" and response.json()["error"]["type"] == "invalid_request_error"
    response = httpx.post(f"{proxy}/v1/chat/completions", content=b"not json", headers={"authorization": "Bearer k"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_json"
    assert len(fake.requests) == before  # nothing went upstream


def test_body_over_the_limit_is_413(fake: RunningFakeUpstream) -> None:
    with running_proxy(fake.url, max_body_bytes=1000) as proxy:
        client = anthropic.Anthropic(base_url=proxy, api_key="k", max_retries=0)
        with pytest.raises(anthropic.APIStatusError) as caught:
            client.messages.create(model="claude-test-1", max_tokens=5, messages=[{"role": "user", "content": "x" * 2000}])
        assert caught.value.status_code == 413
        assert caught.value.body["error"]["type"] == "request_too_large"  # type: ignore[index]
        oai = openai.OpenAI(base_url=f"{proxy}/v1", api_key="k", max_retries=0)
        with pytest.raises(openai.APIStatusError) as caught_oai:
            oai.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x" * 2000}])
        assert caught_oai.value.status_code == 413


def _big_body(size: int) -> tuple[Iterator[bytes], str]:
    """A valid Messages body of exactly `size` bytes, produced in 1 MiB pieces, and its sha256."""
    head = b'{"model":"claude-test-1","max_tokens":5,"messages":[{"role":"user","content":"'
    tail = b'"}]}'
    filler = size - len(head) - len(tail)
    piece = b"a" * (1024 * 1024)
    digest = hashlib.sha256(head)
    for _ in range(filler // len(piece)):
        digest.update(piece)
    digest.update(piece[: filler % len(piece)] + tail)

    def pieces() -> Iterator[bytes]:
        yield head
        for _ in range(filler // len(piece)):
            yield piece
        yield piece[: filler % len(piece)] + tail

    return pieces(), digest.hexdigest()


def test_50_mb_body_streams_through_uncompressed_with_bounded_memory(faults: tuple[str, Faults]) -> None:
    """Above max_compress_bytes (16 MiB) a body is neither buffered nor compressed: it streams."""
    url, _ = faults
    size = 50 * 1024 * 1024
    with running_proxy(url) as proxy:
        pieces, sha = _big_body(size)
        tracemalloc.start()
        try:
            headers = {**HEADERS, "x-fault": "count", "content-length": str(size)}
            response = httpx.post(f"{proxy}/v1/messages", content=pieces, headers=headers, timeout=60)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert response.status_code == 200
    assert response.json() == {"size": size, "sha256": sha}
    assert response.headers["x-headroom-decisions"] == "passthrough:large-body"
    assert peak < 16 * 1024 * 1024  # client, proxy and upstream together, all in this process


def test_gzip_request_body_is_decoded_and_compressed(fake: RunningFakeUpstream, proxy: str) -> None:
    rows = [{"id": i, "name": f"item {i}", "status": "ok"} for i in range(200)]
    body = {
        "model": "claude-test-1",
        "max_tokens": 5,
        "messages": [
            {"role": "user", "content": "list"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "ls", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": json.dumps(rows, indent=2)}]},
        ],
    }
    raw = gzip.compress(json.dumps(body).encode())
    response = httpx.post(f"{proxy}/v1/messages", content=raw, headers={**HEADERS, "content-encoding": "gzip"})
    assert response.status_code == 200
    seen = fake.requests[-1]
    assert seen.header("content-encoding") is None
    assert len(seen.json["messages"][2]["content"][0]["content"]) < len(json.dumps(rows, indent=2)) / 2
