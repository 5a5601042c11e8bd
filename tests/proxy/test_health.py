from __future__ import annotations

import httpx

from headroom_core import __version__
from tests.support.fake_upstream import RunningFakeUpstream


def test_probes_and_root(fake: RunningFakeUpstream, proxy: str) -> None:
    before = len(fake.requests)
    assert httpx.head(f"{proxy}/").status_code == 200
    assert httpx.get(f"{proxy}/").json()["service"] == "headroom-proxy"
    assert httpx.get(f"{proxy}/livez").json()["alive"] is True
    assert httpx.get(f"{proxy}/readyz").json()["ready"] is True
    health = httpx.get(f"{proxy}/health").json()
    assert health["status"] == "healthy" and health["version"] == __version__ and health["mode"] == "token"
    assert {"uptime_seconds", "requests", "tokens_saved"} <= set(health)
    assert len(fake.requests) == before  # no probe calls the provider
