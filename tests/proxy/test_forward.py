"""The forward path driven by the real SDKs, through the proxy to the scripted fake upstream."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import anthropic
import httpx
import openai
import pytest

from headroom_core import Config

from tests.proxy.servers import running_proxy
from tests.support.fake_upstream import RunningFakeUpstream

MODEL = "claude-test-1"
ROWS = [{"id": i, "name": f"item {i}", "status": "ok", "value": i * 3.5} for i in range(200)]
PRETTY = json.dumps(ROWS, indent=2)


def tool_conversation(result_text: str) -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": "list the items"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "list_items", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": result_text}]},
    ]


def last_body(fake: RunningFakeUpstream) -> Any:
    return fake.requests[-1].json


def test_anthropic_tool_result_arrives_compacted(fake: RunningFakeUpstream, proxy: str) -> None:
    client = anthropic.Anthropic(base_url=proxy, api_key="sk-test", max_retries=0)
    raw = client.messages.with_raw_response.create(model=MODEL, max_tokens=50, messages=tool_conversation(PRETTY))
    sent = last_body(fake)["messages"][2]["content"][0]["content"]
    assert len(sent) < len(PRETTY) / 2
    assert int(raw.headers["x-headroom-tokens-saved"]) > 1000
    assert re.fullmatch(r"(compacted|compressed)=1", raw.headers["x-headroom-decisions"])
    assert raw.parse().content[0].text == "Hello from the fake upstream."


def test_lossless_setting_compacts_every_row(fake: RunningFakeUpstream) -> None:
    config = Config(lossless=True)
    with running_proxy(fake.url, config=config) as proxy:
        client = anthropic.Anthropic(base_url=proxy, api_key="sk-test", max_retries=0)
        raw = client.messages.with_raw_response.create(model=MODEL, max_tokens=50, messages=tool_conversation(PRETTY))
    sent = last_body(fake)["messages"][2]["content"][0]["content"]
    assert len(sent) < len(PRETTY) / 2
    assert all(f"item {i}" in sent for i in range(200))
    assert raw.headers["x-headroom-decisions"] == "compacted=1"


def test_unchanged_body_goes_upstream_byte_for_byte(fake: RunningFakeUpstream, proxy: str) -> None:
    body = b'{"model": "claude-test-1",  "max_tokens": 5, "messages": [{"role": "user", "content": "hi \\u00e9"}], "zzz_unknown": 1.50}'
    response = httpx.post(f"{proxy}/v1/messages?beta=true", content=body, headers={"x-api-key": "k", "anthropic-version": "2023-06-01"})
    assert response.status_code == 200
    assert response.headers["x-headroom-decisions"] == "unchanged"
    assert fake.requests[-1].body == body
    assert fake.requests[-1].query == "beta=true"


def test_headers_forwarded_and_own_headers_stripped(fake: RunningFakeUpstream, proxy: str) -> None:
    headers = {
        "x-api-key": "sk-ant-secret",
        "anthropic-version": "2023-06-01",
        "anthropic-beta": "a-1,b-2",
        "x-custom-thing": "kept",
        "x-headroom-bypass": "0",
        "x-headroom-token": "nope",
        "accept-encoding": "br",
        "connection": "keep-alive, x-hop",
        "x-hop": "dropped",
    }
    body = {"model": MODEL, "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
    assert httpx.post(f"{proxy}/v1/messages", json=body, headers=headers).status_code == 200
    seen = fake.requests[-1]
    assert seen.header("x-api-key") == "sk-ant-secret"
    assert seen.header("anthropic-beta") == "a-1,b-2"
    assert seen.header("x-custom-thing") == "kept"
    assert seen.header("accept-encoding") == "gzip, deflate"
    assert seen.header("x-hop") is None
    assert not [k for k, _ in seen.headers if k.startswith("x-headroom-")]
    assert seen.header("host") == fake.url.removeprefix("http://")


def test_bypass_header_forwards_untouched(fake: RunningFakeUpstream, proxy: str) -> None:
    body = json.dumps({"model": MODEL, "max_tokens": 5, "messages": tool_conversation(PRETTY)}).encode()
    response = httpx.post(f"{proxy}/v1/messages", content=body, headers={"x-api-key": "k", "x-headroom-bypass": "1"})
    assert response.status_code == 200
    assert fake.requests[-1].body == body
    assert response.headers["x-headroom-decisions"] == "bypass"


def test_no_optimize_is_passthrough(fake: RunningFakeUpstream) -> None:
    body = json.dumps({"model": MODEL, "max_tokens": 5, "messages": tool_conversation(PRETTY)}).encode()
    with running_proxy(fake.url, optimize=False) as proxy:
        httpx.post(f"{proxy}/v1/messages", content=body, headers={"x-api-key": "k"})
    assert fake.requests[-1].body == body


@pytest.mark.parametrize("stream", [False, True])
def test_anthropic_results_identical_with_and_without_proxy(fake: RunningFakeUpstream, proxy: str, stream: bool) -> None:
    """Tools and thinking: the client sees the same message either way."""
    messages = [{"role": "user", "content": 'weather? [[fake:tool get_weather {"city": "Paris"}]] [[fake:thinking hmm]]'}]
    kwargs: dict[str, Any] = dict(
        model=MODEL,
        max_tokens=2048,
        messages=messages,
        tools=[{"name": "get_weather", "description": "w", "input_schema": {"type": "object"}}],
        thinking={"type": "enabled", "budget_tokens": 1024},
    )

    def run(base: str) -> Any:
        client = anthropic.Anthropic(base_url=base, api_key="k", max_retries=0)
        if not stream:
            return client.messages.create(**kwargs).to_dict()
        with client.messages.stream(**kwargs) as events:
            return events.get_final_message().to_dict()

    direct, proxied = run(fake.url), run(proxy)
    assert proxied == direct
    assert [b["type"] for b in proxied["content"]] == ["thinking", "tool_use"]


def test_anthropic_async_stream(fake: RunningFakeUpstream, proxy: str) -> None:
    async def main() -> str:
        client = anthropic.AsyncAnthropic(base_url=proxy, api_key="k", max_retries=0)
        async with client.messages.stream(model=MODEL, max_tokens=50, messages=tool_conversation(PRETTY)) as events:
            text = await events.get_final_text()
        await client.close()
        return text

    assert asyncio.run(main()) == "Hello from the fake upstream."
    assert len(last_body(fake)["messages"][2]["content"][0]["content"]) < len(PRETTY) / 2


def test_anthropic_count_tokens_and_models(fake: RunningFakeUpstream, proxy: str) -> None:
    client = anthropic.Anthropic(base_url=proxy, api_key="k", max_retries=0)
    count = client.messages.count_tokens(model=MODEL, messages=[{"role": "user", "content": "hello"}])
    assert count.input_tokens > 0
    assert fake.requests[-1].path == "/v1/messages/count_tokens"
    models = client.models.list()
    assert [m.id for m in models.data][0].startswith("claude")


def test_anthropic_error_passes_through(fake: RunningFakeUpstream, proxy: str) -> None:
    client = anthropic.Anthropic(base_url=proxy, api_key="k", max_retries=0)
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(model=MODEL, max_tokens=5, messages=[{"role": "user", "content": "[[fake:error 400]]"}])
    assert caught.value.status_code == 400


@pytest.mark.parametrize("stream", [False, True])
def test_openai_chat_identical_with_and_without_proxy(fake: RunningFakeUpstream, proxy: str, stream: bool) -> None:
    messages = [{"role": "user", "content": 'go [[fake:tool lookup {"q": "x"}]]'}]
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]

    def run(base: str) -> Any:
        client = openai.OpenAI(base_url=f"{base}/v1", api_key="sk-test", max_retries=0)
        if not stream:
            out = client.chat.completions.create(model="gpt-4o", messages=messages, tools=tools).to_dict()
            return out["choices"], out["usage"]
        chunks = list(client.chat.completions.create(model="gpt-4o", messages=messages, tools=tools, stream=True))
        # The fake derives ids from the request bytes, which differ by the usage option.
        dump = json.dumps([{k: v for k, v in c.to_dict().items() if k != "created"} for c in chunks])
        return re.sub(r"[0-9a-f]{20,}", "<digest>", dump)

    assert run(proxy) == run(fake.url)


def test_openai_chat_usage_chunk_requested_and_stripped(fake: RunningFakeUpstream, proxy: str) -> None:
    client = openai.OpenAI(base_url=f"{proxy}/v1", api_key="sk-test", max_retries=0)
    chunks = list(client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True))
    assert last_body(fake)["stream_options"] == {"include_usage": True}
    assert all(c.choices for c in chunks)
    assert all("usage" not in c.to_dict() for c in chunks)
    # When the client asks for usage itself, its request goes byte for byte and it gets the chunk.
    chunks = list(
        client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True, stream_options={"include_usage": True}
        )
    )
    assert chunks[-1].usage is not None and chunks[-1].choices == []


def test_openai_async_chat_and_responses(fake: RunningFakeUpstream, proxy: str) -> None:
    async def main() -> tuple[str, str, str]:
        client = openai.AsyncOpenAI(base_url=f"{proxy}/v1", api_key="sk-test", max_retries=0)
        chat = await client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
        response = await client.responses.create(model="gpt-5", input="hello")
        streamed = ""
        async with client.responses.stream(model="gpt-5", input="hello") as events:
            streamed = (await events.get_final_response()).output_text
        await client.close()
        return chat.choices[0].message.content or "", response.output_text, streamed

    chat, response, streamed = asyncio.run(main())
    assert chat == response == streamed == "Hello from the fake upstream."


def test_openai_responses_function_output_compacted(fake: RunningFakeUpstream, proxy: str) -> None:
    client = openai.OpenAI(base_url=f"{proxy}/v1", api_key="sk-test", max_retries=0)
    items: list[Any] = [
        {"role": "user", "content": "list"},
        {"type": "function_call", "call_id": "call_1", "name": "list_items", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_1", "output": PRETTY},
    ]
    client.responses.create(model="gpt-5", input=items)
    assert len(last_body(fake)["input"][2]["output"]) < len(PRETTY) / 2


def test_openai_models_and_unknown_path_pass_through(fake: RunningFakeUpstream, proxy: str) -> None:
    client = openai.OpenAI(base_url=f"{proxy}/v1", api_key="sk-test", max_retries=0)
    assert [m.id for m in client.models.list()][0] == "gpt-5"
    response = httpx.get(f"{proxy}/v1/files/abc?x=1", headers={"authorization": "Bearer sk"})
    assert response.status_code == 404
    assert fake.requests[-1].path == "/v1/files/abc" and fake.requests[-1].query == "x=1"
