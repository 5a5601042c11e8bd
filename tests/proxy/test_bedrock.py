"""Bedrock through the proxy: --backend bedrock (Anthropic clients, SigV4, event stream -> SSE) and
the /model/{id}/invoke routes for clients that already speak Bedrock. The fake Bedrock checks
every signature with AWS's algorithm and answers with real event-stream framing."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest

from headroom_proxy import Settings, SettingsError, create_app
from headroom_proxy.eventstream import EventStreamDecoder
from headroom_proxy.sigv4 import AwsCredentials
from tests.proxy.servers import running_proxy
from tests.support.fake_upstream import (
    FAKE_AWS_ACCESS_KEY_ID,
    FAKE_AWS_SECRET_ACCESS_KEY,
    RunningFakeUpstream,
)

MODEL = "anthropic.claude-sonnet-4-5-20250929-v1:0"
ROWS = [{"id": i, "name": f"item {i}", "status": "ok", "value": i * 3.5} for i in range(200)]
PRETTY = json.dumps(ROWS, indent=2)
CREDENTIALS = AwsCredentials(FAKE_AWS_ACCESS_KEY_ID, FAKE_AWS_SECRET_ACCESS_KEY, "session-token-1")


def tool_conversation(result_text: str) -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": "list the items"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "list_items", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": result_text}]},
    ]


@pytest.fixture(scope="module")
def bedrock(fake: RunningFakeUpstream) -> Iterator[str]:
    with running_proxy(fake.url, backend="bedrock", bedrock_api_url=fake.url, region="us-east-1", aws_credentials=CREDENTIALS, max_retries=0) as url:
        yield url


def client(base: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=base, api_key="sk-ant-client-secret", max_retries=0)


def test_messages_go_to_invoke_signed_and_compressed(fake: RunningFakeUpstream, bedrock: str) -> None:
    raw = client(bedrock).messages.with_raw_response.create(
        model=MODEL, max_tokens=50, messages=tool_conversation(PRETTY), extra_headers={"anthropic-beta": "b-1, b-2"}
    )
    message = raw.parse()
    assert message.content[0].text == "Hello from the fake upstream."
    assert int(raw.headers["x-headroom-tokens-saved"]) > 1000
    seen = fake.requests[-1]
    assert seen.path == f"/model/{MODEL}/invoke"
    assert seen.json["anthropic_version"] == "bedrock-2023-05-31"
    assert "model" not in seen.json and "stream" not in seen.json
    assert seen.json["anthropic_beta"] == ["b-1", "b-2"]
    assert len(seen.json["messages"][2]["content"][0]["content"]) < len(PRETTY) / 2
    assert seen.header("authorization").startswith(f"AWS4-HMAC-SHA256 Credential={FAKE_AWS_ACCESS_KEY_ID}/")
    assert seen.header("x-amz-security-token") == "session-token-1"
    assert seen.header("x-api-key") is None and "client-secret" not in json.dumps(seen.headers)


def test_streamed_answer_is_translated_to_anthropic_sse(fake: RunningFakeUpstream, bedrock: str, tmp_path: Path) -> None:
    messages = [{"role": "user", "content": 'weather? [[fake:tool get_weather {"city": "Paris"}]]'}]
    tools = [{"name": "get_weather", "description": "w", "input_schema": {"type": "object"}}]
    with client(bedrock).messages.stream(model=MODEL, max_tokens=100, messages=messages, tools=tools) as events:
        names = [event.type for event in events]
        final = events.get_final_message()
    assert fake.requests[-1].path == f"/model/{MODEL}/invoke-with-response-stream"
    assert names[0] == "message_start" and "content_block_stop" in names
    assert final.stop_reason == "tool_use"
    assert final.content[0].type == "tool_use" and final.content[0].input == {"city": "Paris"}
    assert final.usage.input_tokens > 0 and final.usage.output_tokens > 0
    direct = client(bedrock).messages.create(model=MODEL, max_tokens=100, messages=messages, tools=tools)
    assert final.content == direct.content


def test_streamed_usage_is_read(fake: RunningFakeUpstream, tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    with running_proxy(fake.url, backend="bedrock", bedrock_api_url=fake.url, aws_credentials=CREDENTIALS, log_file=str(log)) as proxy:
        with client(proxy).messages.stream(model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "hi"}]) as events:
            final = events.get_final_message()
    (line,) = [json.loads(raw) for raw in log.read_text().splitlines()]
    assert line["route"] == "bedrock.messages" and line["model"] == MODEL and line["stream"] is True
    assert line["usage"]["output_tokens"] == final.usage.output_tokens > 0


def test_bedrock_errors_come_back_in_anthropic_shape(bedrock: str) -> None:
    with pytest.raises(anthropic.RateLimitError) as limited:
        client(bedrock).messages.create(model=MODEL, max_tokens=5, messages=[{"role": "user", "content": "[[fake:error 429]]"}])
    assert limited.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
    with pytest.raises(anthropic.APIStatusError) as broken:
        with client(bedrock).messages.stream(model=MODEL, max_tokens=5, messages=[{"role": "user", "content": "[[fake:stream_error]]"}]) as events:
            events.get_final_message()
    assert "fake mid-stream model error" in str(broken.value)


def test_wrong_credentials_are_refused_by_aws(fake: RunningFakeUpstream) -> None:
    wrong = AwsCredentials(FAKE_AWS_ACCESS_KEY_ID, "not-the-secret")
    with running_proxy(fake.url, backend="bedrock", bedrock_api_url=fake.url, aws_credentials=wrong, max_retries=0) as proxy:
        with pytest.raises(anthropic.PermissionDeniedError) as denied:
            client(proxy).messages.create(model=MODEL, max_tokens=5, messages=[{"role": "user", "content": "hi"}])
    assert "signature" in str(denied.value)


def test_count_tokens_is_not_available(bedrock: str) -> None:
    response = httpx.post(f"{bedrock}/v1/messages/count_tokens", json={"model": MODEL, "messages": []})
    assert response.status_code == 404 and response.json()["type"] == "error"


def test_backend_bedrock_needs_credentials() -> None:
    with pytest.raises(SettingsError, match="AWS_ACCESS_KEY_ID"):
        create_app(Settings.from_env({"HEADROOM_BACKEND": "bedrock"}))


# --------------------------------------------------------------------------- /model/{id}/invoke


def invoke_body(output: str) -> dict[str, Any]:
    return {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 20, "messages": tool_conversation(output)}


def test_invoke_route_compresses_and_re_signs(fake: RunningFakeUpstream, bedrock: str) -> None:
    path = f"/model/{MODEL.replace(':', '%3A')}/invoke"
    response = httpx.post(bedrock + path, json=invoke_body(PRETTY), headers={"authorization": "AWS4-HMAC-SHA256 Credential=client"})
    assert response.status_code == 200
    assert response.json()["content"][0]["text"] == "Hello from the fake upstream."
    seen = fake.requests[-1]
    assert seen.path == f"/model/{MODEL}/invoke"
    assert len(seen.json["messages"][2]["content"][0]["content"]) < len(PRETTY) / 2
    assert seen.header("authorization").startswith(f"AWS4-HMAC-SHA256 Credential={FAKE_AWS_ACCESS_KEY_ID}/")


def test_invoke_stream_route_relays_the_event_stream(fake: RunningFakeUpstream, bedrock: str) -> None:
    path = f"/model/{MODEL}/invoke-with-response-stream"
    response = httpx.post(bedrock + path, json=invoke_body("short"), headers={"accept": "application/vnd.amazon.eventstream"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.amazon.eventstream"
    messages = EventStreamDecoder().feed(response.content)
    events = [json.loads(base64.b64decode(json.loads(m.payload)["bytes"])) for m in messages]
    assert events[0]["type"] == "message_start" and events[-1]["type"] == "message_stop"
    assert "amazon-bedrock-invocationMetrics" in events[-1]


def test_client_signed_invoke_goes_untouched_without_proxy_credentials(fake: RunningFakeUpstream) -> None:
    raw = json.dumps(invoke_body(PRETTY)).encode()
    with running_proxy(fake.url, bedrock_api_url=fake.url, max_retries=0) as proxy:
        response = httpx.post(f"{proxy}/model/{MODEL}/invoke", content=raw, headers={"authorization": "AWS4-HMAC-SHA256 Credential=AKIDCLIENT/x"})
    assert fake.requests[-1].body == raw
    assert response.headers["x-headroom-decisions"] == "bypass"
    assert response.status_code == 403  # the fake does not know the client's key: relayed as AWS said it
