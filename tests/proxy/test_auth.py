"""The proxy token: required off loopback, checked on every route but the probes, never forwarded."""

from __future__ import annotations

import httpx
import openai
import pytest

from headroom_proxy import Settings, SettingsError, create_app
from tests.proxy.servers import running_proxy
from tests.support.fake_upstream import RunningFakeUpstream

BODY = {"model": "claude-test-1", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}


def test_non_loopback_bind_without_token_is_refused() -> None:
    with pytest.raises(SettingsError, match="HEADROOM_PROXY_TOKEN"):
        create_app(Settings(host="0.0.0.0"))
    create_app(Settings(host="0.0.0.0", proxy_token="s3cret"))


def test_token_checked_and_stripped(fake: RunningFakeUpstream) -> None:
    with running_proxy(fake.url, proxy_token="s3cret") as proxy:
        missing = httpx.post(f"{proxy}/v1/messages", json=BODY, headers={"x-api-key": "k"})
        assert missing.status_code == 401 and missing.json()["error"]["type"] == "authentication_error"
        wrong = httpx.post(f"{proxy}/v1/messages", json=BODY, headers={"x-api-key": "k", "x-headroom-token": "nope"})
        assert wrong.status_code == 401
        assert httpx.get(f"{proxy}/livez").status_code == 200
        assert httpx.get(f"{proxy}/health").status_code == 401
        ok = httpx.post(f"{proxy}/v1/messages", json=BODY, headers={"x-api-key": "k", "x-headroom-token": "s3cret"})
        assert ok.status_code == 200
        assert fake.requests[-1].header("x-headroom-token") is None
        client = openai.OpenAI(base_url=f"{proxy}/v1", api_key="sk-real", default_headers={"proxy-authorization": "Bearer s3cret"})
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
        seen = fake.requests[-1]
        assert seen.header("proxy-authorization") is None
        assert seen.header("authorization") == "Bearer sk-real"
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=f"{proxy}/v1", api_key="sk-real", max_retries=0).models.list()
