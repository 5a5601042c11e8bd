"""The retrieval loop, driven by the real SDKs through the proxy to a fake upstream that calls
`headroom_retrieve` with the id of what the proxy elided (issue 6)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest

from headroom_core import RETRIEVE_TOOL_NAME, Config, retrieval_id
from tests.proxy.servers import running_proxy
from tests.support.fake_upstream import RecordedRequest, RunningFakeUpstream

ROWS = [{"id": i, "name": f"item {i}", "status": "ok", "value": i * 3.5} for i in range(200)]
PRETTY = json.dumps(ROWS, indent=2)
RID = retrieval_id(PRETTY)
FINAL = "There are 200 items."
ANTHROPIC_TOOLS = [
    {"name": "list_items", "description": "l", "input_schema": {"type": "object"}},
    {"name": "get_weather", "description": "w", "input_schema": {"type": "object"}},
]
CHAT_TOOLS = [{"type": "function", "function": {"name": n, "parameters": {"type": "object"}}} for n in ("list_items", "get_weather")]
RESPONSES_TOOLS = [{"type": "function", "name": n, "parameters": {"type": "object"}} for n in ("list_items", "get_weather")]


def script(rid: str = RID, extra: str = "") -> str:
    """The user's question, scripting the fake: list_items, then retrieve `rid`, then the answer."""
    retrieve = json.dumps({"id": rid})
    return f"list the items [[fake:tool list_items {{}}]] [[fake:tool {RETRIEVE_TOOL_NAME} {retrieve}]] {extra} [[fake:text {FINAL}]]"


def anthropic_messages(question: str, result: str = PRETTY) -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": question},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "list_items", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": result}]},
    ]


def chat_messages(question: str) -> list[dict[str, Any]]:
    call = {"id": "call_1", "type": "function", "function": {"name": "list_items", "arguments": "{}"}}
    return [
        {"role": "user", "content": question},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": PRETTY},
    ]


def responses_input(question: str) -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": question},
        {"type": "function_call", "call_id": "call_1", "name": "list_items", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_1", "output": PRETTY},
    ]


@pytest.fixture(autouse=True)
def closing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Close every SDK client a test makes: one left to the garbage collector may drop a pooled
    socket unclosed in the middle of a later test (a ResourceWarning, an error here)."""
    made: list[Any] = []
    for cls in (anthropic.Anthropic, openai.OpenAI):
        original = cls.__init__

        def init(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> None:
            __original(self, *args, **kwargs)
            made.append(self)

        monkeypatch.setattr(cls, "__init__", init)
    yield
    for client in made:
        client.close()


def new_requests(fake: RunningFakeUpstream, start: int) -> list[RecordedRequest]:
    return fake.requests[start:]


def direct(fake: RunningFakeUpstream, request: RecordedRequest) -> Any:
    """What the upstream answers for `request` when the client sends it itself."""
    headers = {k: v for k, v in request.headers if k in ("content-type", "x-api-key", "authorization", "anthropic-version")}
    return httpx.post(fake.url + request.path, content=request.body, headers=headers)


def direct_response(fake: RunningFakeUpstream, request: RecordedRequest) -> dict[str, Any]:
    """The OpenAI Responses object a direct upstream gives for `request`, streamed or not."""
    response = direct(fake, request)
    if not response.headers["content-type"].startswith("text/event-stream"):
        return response.json()  # type: ignore[no-any-return]
    events = [json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: ")]
    return next(e["response"] for e in events if e["type"] == "response.completed")  # type: ignore[no-any-return]


def direct_message(fake: RunningFakeUpstream, request: RecordedRequest) -> dict[str, Any]:
    """The Anthropic message a direct upstream gives for `request`, its stream put together."""
    response = direct(fake, request)
    if not response.headers["content-type"].startswith("text/event-stream"):
        return response.json()  # type: ignore[no-any-return]
    message: dict[str, Any] = {}
    for line in response.text.splitlines():
        if not line.startswith("data: "):
            continue
        event = json.loads(line[6:])
        if event["type"] == "message_start":
            message = event["message"]
        elif event["type"] == "content_block_start":
            message["content"].append(event["content_block"])
        elif event["type"] == "content_block_delta" and event["delta"]["type"] == "text_delta":
            message["content"][event["index"]]["text"] += event["delta"]["text"]
        elif event["type"] == "message_delta":
            message.update(event["delta"])
            message["usage"].update(event["usage"])
    return message


def strip_volatile(value: Any, *keys: str) -> Any:
    return {k: v for k, v in value.items() if k not in keys}


# --------------------------------------------------------------------------- Anthropic


@pytest.mark.parametrize("stream", [False, True])
def test_anthropic_retrieve_is_answered_by_the_proxy(fake: RunningFakeUpstream, proxy: str, stream: bool) -> None:
    start = len(fake.requests)
    client = anthropic.Anthropic(base_url=proxy, api_key="sk-alice", max_retries=0)
    kwargs: dict[str, Any] = {"model": "claude-test-1", "max_tokens": 100, "messages": anthropic_messages(script()), "tools": ANTHROPIC_TOOLS}
    if stream:
        with client.messages.stream(**kwargs) as events:
            seen = [e.type for e in events]
            message = events.get_final_message().to_dict()
        assert seen.count("message_start") == 1 and seen.count("message_stop") == 1
    else:
        raw = client.messages.with_raw_response.create(**kwargs)
        assert (raw.headers["x-headroom-retrievals"], raw.headers["x-headroom-retrieval-rounds"]) == ("1", "1")
        assert int(raw.headers["x-headroom-retrieval-tokens"]) > 1000
        message = raw.parse().to_dict()
    first, continuation = new_requests(fake, start)
    # The tool goes at the end of the client's tools, and the original comes back in the tool result.
    assert [t["name"] for t in first.json["tools"]] == ["list_items", "get_weather", RETRIEVE_TOOL_NAME]
    assert len(first.json["messages"][2]["content"][0]["content"]) < len(PRETTY) / 2
    call = continuation.json["messages"][3]["content"][0]
    assert call["name"] == RETRIEVE_TOOL_NAME and call["input"] == {"id": RID}
    assert continuation.json["messages"][4]["content"] == [{"type": "tool_result", "tool_use_id": call["id"], "content": PRETTY}]
    assert continuation.json["messages"][:3] == first.json["messages"]
    # The client gets what a direct upstream gives for the continuation, with the usage of both rounds.
    expected = direct_message(fake, continuation)
    assert strip_volatile(message, "id", "usage", "stop_details") == strip_volatile(expected, "id", "usage")
    first_usage = direct_message(fake, first)["usage"]
    assert message["usage"]["input_tokens"] == first_usage["input_tokens"] + expected["usage"]["input_tokens"]
    assert message["usage"]["output_tokens"] == first_usage["output_tokens"] + expected["usage"]["output_tokens"]


@pytest.mark.parametrize("stream", [False, True])
def test_anthropic_text_before_the_call_stays(fake: RunningFakeUpstream, proxy: str, stream: bool) -> None:
    client = anthropic.Anthropic(base_url=proxy, api_key="sk-alice", max_retries=0)
    kwargs: dict[str, Any] = {
        "model": "claude-test-1", "max_tokens": 100, "messages": anthropic_messages(script(extra="[[fake:preface Let me look.]]")), "tools": ANTHROPIC_TOOLS
    }
    if stream:
        with client.messages.stream(**kwargs) as events:
            indexes = [(e.type, e.index) for e in events if e.type == "content_block_start"]
            message = events.get_final_message()
        assert indexes == [("content_block_start", 0), ("content_block_start", 1)]
    else:
        message = client.messages.create(**kwargs)
    assert [(b.type, getattr(b, "text", None)) for b in message.content] == [("text", "Let me look."), ("text", FINAL)]
    assert message.stop_reason == "end_turn"


@pytest.mark.parametrize("stream", [False, True])
def test_anthropic_retrieve_alongside_a_client_tool(fake: RunningFakeUpstream, proxy: str, stream: bool) -> None:
    start = len(fake.requests)
    client = anthropic.Anthropic(base_url=proxy, api_key="sk-alice", max_retries=0)
    question = script(extra='[[fake:also get_weather {"city": "Paris"}]]')
    kwargs: dict[str, Any] = {"model": "claude-test-1", "max_tokens": 100, "messages": anthropic_messages(question), "tools": ANTHROPIC_TOOLS}
    if stream:
        with client.messages.stream(**kwargs) as events:
            message = events.get_final_message()
    else:
        message = client.messages.create(**kwargs)
    assert len(new_requests(fake, start)) == 1  # no continuation: the client must run its tool first
    assert [(b.type, b.name) for b in message.content] == [("tool_use", "get_weather")]  # type: ignore[union-attr]
    assert message.stop_reason == "tool_use"
    # The client's next turn (without the hidden call) is a valid conversation for the upstream.
    follow = [*kwargs["messages"], {"role": "assistant", "content": [b.to_dict() for b in message.content]}]
    follow.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": message.content[0].id, "content": "sunny"}]})  # type: ignore[union-attr]
    client.messages.create(**{**kwargs, "messages": follow})


def test_unknown_id_is_a_tool_error_the_model_sees(fake: RunningFakeUpstream, proxy: str) -> None:
    start = len(fake.requests)
    client = anthropic.Anthropic(base_url=proxy, api_key="sk-alice", max_retries=0)
    message = client.messages.create(model="claude-test-1", max_tokens=100, messages=anthropic_messages(script(rid="0123456789ab")), tools=ANTHROPIC_TOOLS)
    assert message.content[0].text == FINAL  # type: ignore[union-attr]
    result = new_requests(fake, start)[-1].json["messages"][-1]["content"][0]
    assert result["is_error"] is True and "unknown or has expired" in result["content"]


def test_one_caller_cannot_retrieve_another_callers_originals(fake: RunningFakeUpstream, proxy: str) -> None:
    start = len(fake.requests)
    alice = anthropic.Anthropic(base_url=proxy, api_key="sk-alice", max_retries=0)
    alice.messages.create(model="claude-test-1", max_tokens=100, messages=anthropic_messages(script()), tools=ANTHROPIC_TOOLS)
    compressed = new_requests(fake, start)[0].json["messages"][2]["content"][0]["content"]
    assert f"retrieve id={RID}" in compressed
    # Mallory replays the compressed text (marker and id included) under her own key.
    start = len(fake.requests)
    mallory = anthropic.Anthropic(base_url=proxy, api_key="sk-mallory", max_retries=0)
    mallory.messages.create(model="claude-test-1", max_tokens=100, messages=anthropic_messages(script(), compressed), tools=ANTHROPIC_TOOLS)
    result = new_requests(fake, start)[-1].json["messages"][-1]["content"][0]
    assert result["is_error"] is True and PRETTY not in result["content"]
    # The same holds for a bearer credential, and for the same key sent another way.
    start = len(fake.requests)
    other = httpx.post(
        f"{proxy}/v1/messages",
        json={"model": "m", "max_tokens": 100, "messages": anthropic_messages(script(), compressed), "tools": ANTHROPIC_TOOLS},
        headers={"authorization": "Bearer sk-alice-2"},
    )
    assert other.status_code == 200 and other.headers["x-headroom-retrievals"] == "1"
    assert new_requests(fake, start)[-1].json["messages"][-1]["content"][0]["is_error"] is True


def test_no_tool_without_markers_and_none_when_turned_off(fake: RunningFakeUpstream, proxy: str) -> None:
    start = len(fake.requests)
    client = anthropic.Anthropic(base_url=proxy, api_key="k", max_retries=0)
    raw = client.messages.with_raw_response.create(model="m", max_tokens=5, messages=[{"role": "user", "content": "hi"}], tools=ANTHROPIC_TOOLS)
    assert "x-headroom-retrievals" not in raw.headers
    assert "tools" in new_requests(fake, start)[0].json and len(new_requests(fake, start)[0].json["tools"]) == 2
    with running_proxy(fake.url, inject_retrieve_tool=False) as off:
        start = len(fake.requests)
        client = anthropic.Anthropic(base_url=off, api_key="k", max_retries=0)
        message = client.messages.create(model="m", max_tokens=100, messages=anthropic_messages(script()), tools=ANTHROPIC_TOOLS)
        assert [t["name"] for t in new_requests(fake, start)[0].json["tools"]] == ["list_items", "get_weather"]
        assert message.content[0].name == RETRIEVE_TOOL_NAME  # type: ignore[union-attr]


def test_rounds_are_bounded_and_the_last_one_forbids_tools(fake: RunningFakeUpstream) -> None:
    calls = " ".join(f"[[fake:tool {RETRIEVE_TOOL_NAME} {json.dumps({'id': RID})}]]" for _ in range(5))
    question = f"list [[fake:tool list_items {{}}]] {calls} [[fake:text {FINAL}]]"
    with running_proxy(fake.url, max_retrieval_rounds=2) as proxy:
        start = len(fake.requests)
        client = anthropic.Anthropic(base_url=proxy, api_key="k", max_retries=0)
        raw = client.messages.with_raw_response.create(model="m", max_tokens=100, messages=anthropic_messages(question), tools=ANTHROPIC_TOOLS)
    sent = new_requests(fake, start)
    assert len(sent) == 3 and raw.headers["x-headroom-retrieval-rounds"] == "2"
    assert sent[-1].json["tool_choice"] == {"type": "none"} and "tool_choice" not in sent[-2].json
    message = raw.parse()
    assert all(b.type == "text" for b in message.content) and message.stop_reason == "end_turn"


# --------------------------------------------------------------------------- OpenAI


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("mixed", [False, True])
def test_openai_chat(fake: RunningFakeUpstream, proxy: str, stream: bool, mixed: bool) -> None:
    start = len(fake.requests)
    client = openai.OpenAI(base_url=f"{proxy}/v1", api_key="sk-alice", max_retries=0)
    extra = '[[fake:preface Let me look.]] [[fake:also get_weather {"city": "Paris"}]]' if mixed else "[[fake:preface Let me look.]]"
    kwargs: dict[str, Any] = {"model": "gpt-4o", "messages": chat_messages(script(extra=extra)), "tools": CHAT_TOOLS}
    if stream:
        chunks = list(client.chat.completions.create(**kwargs, stream=True))
        assert len({c.id for c in chunks}) == 1 and all(c.choices for c in chunks)
        text = "".join(c.choices[0].delta.content or "" for c in chunks)
        calls = [(t.index, t.function.name) for c in chunks for t in c.choices[0].delta.tool_calls or () if t.function and t.function.name]
        finish = chunks[-1].choices[0].finish_reason
    else:
        completion = client.chat.completions.create(**kwargs)
        message = completion.choices[0].message
        text, finish = message.content or "", completion.choices[0].finish_reason
        calls = [(n, t.function.name) for n, t in enumerate(message.tool_calls or ())]  # type: ignore[union-attr]
    sent = new_requests(fake, start)
    if mixed:
        assert len(sent) == 1 and (text, calls, finish) == ("Let me look.", [(0, "get_weather")], "tool_calls")
        return
    assert (text, calls, finish) == ("Let me look." + FINAL, [], "stop")
    first, continuation = sent
    assert [t["function"]["name"] for t in first.json["tools"]][-1] == RETRIEVE_TOOL_NAME
    assert continuation.json["messages"][-1]["content"] == PRETTY
    assert continuation.json["messages"][-2]["tool_calls"][0]["function"]["name"] == RETRIEVE_TOOL_NAME
    if not stream:
        expected = direct(fake, continuation).json()
        assert completion.choices[0].message.content == "Let me look." + expected["choices"][0]["message"]["content"]
        rounds = [direct(fake, first).json()["usage"], expected["usage"]]
        assert completion.usage.prompt_tokens == sum(u["prompt_tokens"] for u in rounds)  # type: ignore[union-attr]


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("mixed", [False, True])
def test_openai_responses(fake: RunningFakeUpstream, proxy: str, stream: bool, mixed: bool) -> None:
    start = len(fake.requests)
    client = openai.OpenAI(base_url=f"{proxy}/v1", api_key="sk-alice", max_retries=0)
    extra = '[[fake:preface Let me look.]] [[fake:also get_weather {"city": "Paris"}]]' if mixed else "[[fake:preface Let me look.]]"
    kwargs: dict[str, Any] = {"model": "gpt-4o", "input": responses_input(script(extra=extra)), "tools": RESPONSES_TOOLS}
    if stream:
        with client.responses.stream(**kwargs) as events:
            seen = list(events)
            response = events.get_final_response()
        assert [e.sequence_number for e in seen] == list(range(len(seen)))
        added = [e.output_index for e in seen if e.type == "response.output_item.added"]
        assert added == list(range(len(added)))
    else:
        response = client.responses.create(**kwargs)
    kinds = [(i.type, getattr(i, "name", None)) for i in response.output]
    sent = new_requests(fake, start)
    if mixed:
        assert len(sent) == 1 and kinds == [("message", None), ("function_call", "get_weather")]
        # The client continues the response it saw; the proxy adds the hidden call's output.
        call = response.output[1]
        client.responses.create(
            model="gpt-4o",
            previous_response_id=response.id,
            input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],  # type: ignore[union-attr]
            tools=RESPONSES_TOOLS,
        )
        follow = fake.requests[-1].json
        assert [i["type"] for i in follow["input"]] == ["function_call_output", "function_call_output"]
        assert follow["input"][0]["output"] == PRETTY and follow["previous_response_id"] == response.id
        return
    assert kinds == [("message", None), ("message", None)] and response.output_text == "Let me look." + FINAL
    first, continuation = sent
    assert continuation.json["input"][-1] == {"type": "function_call_output", "call_id": continuation.json["input"][-2]["call_id"], "output": PRETTY}
    rounds = [direct_response(fake, first)["usage"], direct_response(fake, continuation)["usage"]]
    assert response.usage.input_tokens == sum(u["input_tokens"] for u in rounds)  # type: ignore[union-attr]
    # The next turn continues the conversation that holds the hidden rounds.
    client.responses.create(model="gpt-4o", previous_response_id=response.id, input="thanks", tools=RESPONSES_TOOLS)
    assert fake.requests[-1].json["previous_response_id"] == direct_response(fake, continuation)["id"]


# --------------------------------------------------------------------------- cache mode


def test_cache_mode_resends_earlier_turns_byte_identical(fake: RunningFakeUpstream) -> None:
    """Turn after turn, the upstream sees the same bytes for everything it saw before."""
    results = [json.dumps([dict(r, turn=t) for r in ROWS], indent=2) for t in range(3)]
    messages: list[dict[str, Any]] = [{"role": "user", "content": "list the items, three times"}]
    bodies: list[Any] = []
    with running_proxy(fake.url, config=Config(mode="cache")) as proxy:
        client = anthropic.Anthropic(base_url=proxy, api_key="sk-cache", max_retries=0)
        for turn, text in enumerate(results):
            messages.append({"role": "assistant", "content": [{"type": "tool_use", "id": f"toolu_{turn}", "name": "list_items", "input": {}}]})
            messages.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"toolu_{turn}", "content": text}]})
            start = len(fake.requests)
            client.messages.create(model="claude-test-1", max_tokens=50, messages=messages, tools=ANTHROPIC_TOOLS)
            bodies.append(new_requests(fake, start)[0].json)
    for before, after in itertools.pairwise(bodies):
        assert json.dumps(after["tools"]) == json.dumps(before["tools"])
        kept = len(before["messages"])
        assert json.dumps(after["messages"][:kept]) == json.dumps(before["messages"])
    assert all(len(b["messages"][-1]["content"][0]["content"]) < len(PRETTY) / 2 for b in bodies)
