from __future__ import annotations

import json
from pathlib import Path

import anthropic

from tests.proxy.servers import running_proxy
from tests.support.fake_upstream import RunningFakeUpstream


def test_one_line_per_request_without_secrets_or_text(fake: RunningFakeUpstream, tmp_path: Path) -> None:
    log = tmp_path / "logs" / "requests.jsonl"
    with running_proxy(fake.url, log_file=str(log)) as proxy:
        client = anthropic.Anthropic(base_url=proxy, api_key="sk-ant-SECRET", max_retries=0)
        with client.messages.stream(model="claude-test-1", max_tokens=5, messages=[{"role": "user", "content": "private words"}]) as events:
            events.get_final_message()
    text = log.read_text()
    assert "SECRET" not in text and "private words" not in text and "Hello from" not in text
    (line,) = [json.loads(raw) for raw in text.splitlines()]
    assert line["route"] == "anthropic.messages" and line["model"] == "claude-test-1" and line["stream"] is True
    assert line["status"] == 200 and line["usage"]["input_tokens"] > 0 and line["usage"]["output_tokens"] > 0
    assert line["latency_ms"] >= line["compression_ms"] >= 0


def test_stateless_writes_nothing_under_home(fake: RunningFakeUpstream, tmp_path: Path) -> None:
    with running_proxy(fake.url, home=str(tmp_path / "home"), stateless=True) as proxy:
        anthropic.Anthropic(base_url=proxy, api_key="k", max_retries=0).messages.create(
            model="claude-test-1", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
        )
    assert list(tmp_path.iterdir()) == []
