"""Compression on the forward path fails open: the request still goes, as sent, and is counted."""

from __future__ import annotations

import httpx

from tests.support.fake_upstream import RunningFakeUpstream


def test_core_failure_forwards_the_original_and_counts_it(fake: RunningFakeUpstream, proxy: str) -> None:
    failures = httpx.get(f"{proxy}/health").json()["stats"]["compression_failures"]
    body = b'{"model": "claude-test-1", "max_tokens": 5, "messages": "not a list"}'
    response = httpx.post(f"{proxy}/v1/messages", content=body, headers={"x-api-key": "k"})
    assert fake.requests[-1].body == body  # the upstream judges it, not the proxy
    assert response.status_code == 200
    assert response.headers["x-headroom-decisions"] == "failed"
    assert httpx.get(f"{proxy}/health").json()["stats"]["compression_failures"] == failures + 1
