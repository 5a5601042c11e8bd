"""The fake upstream, checked with the real anthropic and openai SDKs over loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest
from websockets.sync.client import connect

from headroom_core import RETRIEVE_TOOL_NAME
from tests.support.fake_upstream import (
    DEFAULT_TEXT,
    NO_MARKER_TEXT,
    RetrieveArguments,
    RunningFakeUpstream,
    ToolCall,
    Transport,
    parse_script,
    running_fake_upstream,
)

MODEL = "claude-sonnet-4-6"
TOOLS = [{"name": "get_weather", "description": "Forecast.", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]


@pytest.fixture(scope="module")
def fake() -> Iterator[RunningFakeUpstream]:
    with running_fake_upstream() as running:
        yield running


@pytest.fixture
def claude(fake: RunningFakeUpstream) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=fake.url, api_key="sk-ant-test", max_retries=0) as client:
        yield client


@pytest.fixture
def gpt(fake: RunningFakeUpstream) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{fake.url}/v1", api_key="sk-test", max_retries=0) as client:
        yield client


def test_parse_script_reads_every_directive() -> None:
    script = parse_script(
        'x [[fake:tool Bash {"command": "echo ]]"}]] [[fake:tool Read]] [[fake:text all done]] '
        "[[fake:error 429]] [[fake:stream_error]] [[fake:delay_ms 5]] [[fake:unknown zzz]]"
    )
    assert script is not None
    assert script.tool_calls == (ToolCall("Bash", {"command": "echo ]]"}), ToolCall("Read", {}))
    assert (script.text, script.error_status, script.is_stream_error, script.delay_ms) == ("all done", 429, True, 5)
    assert parse_script("no directives here") is None


def test_anthropic_non_stream_default_text_and_recording(fake: RunningFakeUpstream, claude: anthropic.Anthropic) -> None:
    message = claude.messages.create(model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "hi"}])
    assert [b.type for b in message.content] == ["text"]
    assert message.content[0].text == DEFAULT_TEXT  # type: ignore[union-attr]
    assert message.stop_reason == "end_turn" and message.usage.input_tokens > 0
    recorded = fake.requests[-1]
    assert (recorded.method, recorded.path, recorded.transport) == ("POST", "/v1/messages", Transport.HTTP)
    assert recorded.json == json.loads(recorded.body) and recorded.json["model"] == MODEL
    assert recorded.header("Authorization") == "Bearer sk-ant-test"


def test_anthropic_tool_loop_follows_directives_turn_by_turn(claude: anthropic.Anthropic) -> None:
    prompt = 'weather? [[fake:tool get_weather {"city": "Lisbon"}]] [[fake:tool get_weather {"city": "Porto"}]] [[fake:text sunny]]'
    messages: list[dict[str, Any]] = [{"role": "user", "content": prompt}]
    cities = []
    for _ in range(2):
        reply = claude.messages.create(model=MODEL, max_tokens=64, tools=TOOLS, messages=messages)  # type: ignore[arg-type]
        assert reply.stop_reason == "tool_use"
        call = next(b for b in reply.content if b.type == "tool_use")
        cities.append(call.input["city"])  # type: ignore[index]
        messages += [
            {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in reply.content]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "18 C"}]},
        ]
    final = claude.messages.create(model=MODEL, max_tokens=64, tools=TOOLS, messages=messages)  # type: ignore[arg-type]
    assert cities == ["Lisbon", "Porto"]
    assert final.content[0].text == "sunny"  # type: ignore[union-attr]


def test_anthropic_stream_with_thinking_and_tool_use(claude: anthropic.Anthropic) -> None:
    prompt = 'go [[fake:tool get_weather {"city": "Faro"}]]'
    with claude.messages.stream(
        model=MODEL, max_tokens=1024, tools=TOOLS, thinking={"type": "enabled", "budget_tokens": 512},  # type: ignore[arg-type]
        messages=[{"role": "user", "content": prompt}],
    ) as stream:
        events = [event.type for event in stream]
        message = stream.get_final_message()
    assert events[0] == "message_start" and events[-1] == "message_stop"
    assert [b.type for b in message.content] == ["thinking", "tool_use"]
    assert message.content[0].signature  # type: ignore[union-attr]
    assert message.content[1].input == {"city": "Faro"}  # type: ignore[union-attr]
    assert message.stop_reason == "tool_use" and message.usage.output_tokens > 1


def test_anthropic_errors_are_typed(claude: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.InternalServerError) as overloaded:
        claude.messages.create(model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "[[fake:error 529]]"}])
    assert overloaded.value.status_code == 529 and overloaded.value.response.headers["retry-after"] == "1"
    with pytest.raises(anthropic.RateLimitError):
        claude.messages.create(model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "[[fake:error 429]]"}])
    with pytest.raises(anthropic.APIStatusError, match="mid-stream"):
        with claude.messages.stream(model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "[[fake:stream_error]]"}]) as stream:
            stream.get_final_message()


def test_anthropic_count_tokens_and_models(claude: anthropic.Anthropic) -> None:
    assert claude.messages.count_tokens(model=MODEL, messages=[{"role": "user", "content": "hi"}]).input_tokens > 0
    assert claude.models.list().data[0].type == "model"


def test_chat_completions_tool_round_trip(gpt: openai.OpenAI) -> None:
    tools: Any = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
    messages: list[Any] = [{"role": "user", "content": 'find [[fake:tool lookup {"q": "x"}]]'}]
    first = gpt.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=tools)
    call = first.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert first.choices[0].finish_reason == "tool_calls"
    assert (call.function.name, json.loads(call.function.arguments)) == ("lookup", {"q": "x"})  # type: ignore[union-attr]
    messages += [first.choices[0].message.model_dump(exclude_none=True), {"role": "tool", "tool_call_id": call.id, "content": "found"}]
    second = gpt.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=tools)
    assert second.choices[0].message.content == DEFAULT_TEXT


def test_chat_completions_stream_with_usage_and_tool_calls(gpt: openai.OpenAI) -> None:
    chunks = list(
        gpt.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True, stream_options={"include_usage": True}
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == DEFAULT_TEXT
    assert chunks[-1].choices == [] and chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0
    tools: Any = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
    streamed = gpt.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": 'x [[fake:tool lookup {"q": "y"}]]'}], tools=tools, stream=True
    )
    arguments = "".join(
        c.choices[0].delta.tool_calls[0].function.arguments or ""  # type: ignore[index, union-attr]
        for c in streamed
        if c.choices and c.choices[0].delta.tool_calls
    )
    assert json.loads(arguments) == {"q": "y"}
    with pytest.raises(openai.APIError, match="mid-stream"):
        list(gpt.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "[[fake:stream_error]]"}], stream=True))
    with pytest.raises(openai.RateLimitError):
        gpt.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "[[fake:error 429]]"}])


def test_responses_json_and_stream_function_call(gpt: openai.OpenAI) -> None:
    assert gpt.responses.create(model="gpt-5", input="hi").output_text == DEFAULT_TEXT
    tools: Any = [{"type": "function", "name": "lookup", "parameters": {"type": "object"}, "strict": False}]
    items: list[Any] = [{"role": "user", "content": 'x [[fake:tool lookup {"q": "z"}]]'}]
    with gpt.responses.stream(model="gpt-5", input=items, tools=tools) as stream:
        events = [event.type for event in stream]
        first = stream.get_final_response()
    assert events[:2] == ["response.created", "response.in_progress"] and events[-1] == "response.completed"
    call = first.output[0]
    assert call.type == "function_call" and json.loads(call.arguments) == {"q": "z"}
    items += [call.model_dump(exclude_none=True), {"type": "function_call_output", "call_id": call.call_id, "output": "found"}]
    with gpt.responses.stream(model="gpt-5", input=items, tools=tools) as stream:
        assert stream.get_final_response().output_text == DEFAULT_TEXT


def test_models_list_speaks_openai_without_anthropic_headers(gpt: openai.OpenAI) -> None:
    assert gpt.models.list().data[0].object == "model"


def test_responses_websocket_continues_with_previous_response_id(fake: RunningFakeUpstream) -> None:
    def create(ws: Any, **body: Any) -> dict[str, Any]:
        ws.send(json.dumps({"type": "response.create", "model": "gpt-5", **body}))
        while True:
            event = json.loads(ws.recv(timeout=5))
            if event["type"] == "response.completed":
                return event["response"]  # type: ignore[no-any-return]

    tools = [{"type": "custom", "name": "exec"}]
    with connect(f"ws://127.0.0.1:{fake.port}/v1/responses") as ws:
        prewarm = create(ws, generate=False, input=[])
        prompt = {"role": "user", "content": [{"type": "input_text", "text": 'go [[fake:tool exec "print(1)"]]'}]}
        first = create(ws, previous_response_id=prewarm["id"], input=[prompt], tools=tools)
        call = first["output"][0]
        output = {"type": "custom_tool_call_output", "call_id": call["call_id"], "output": "1"}
        second = create(ws, previous_response_id=first["id"], input=[output])
    assert prewarm["output"] == []
    assert (call["type"], call["name"], call["input"]) == ("custom_tool_call", "exec", "print(1)")
    assert second["output"][0]["content"][0]["text"] == DEFAULT_TEXT
    frames = [r for r in fake.requests if r.transport is Transport.WS_MESSAGE]
    assert [f.json["type"] for f in frames[-3:]] == ["response.create"] * 3


MARKED = "[[headroom: 120 of 150 rows elided (ids 30-149); retrieve id=3f2a9c1b7d4e]] and later [[headroom: 9 lines elided; retrieve id=0123456789ab]]"


def test_parse_script_reads_retrieve_as_a_tool_turn() -> None:
    script = parse_script('[[fake:retrieve]] [[fake:also Bash {"command": "ls"}]] [[fake:retrieve user042]] [[fake:text ok]]')
    assert script is not None
    assert script.tool_calls == (ToolCall(RETRIEVE_TOOL_NAME, RetrieveArguments()), ToolCall(RETRIEVE_TOOL_NAME, RetrieveArguments("user042")))
    assert script.also == ((0, ToolCall("Bash", {"command": "ls"})),)


def test_retrieve_calls_with_the_first_marker_id_in_the_conversation(claude: anthropic.Anthropic) -> None:
    prompt = "look [[fake:tool get_weather {}]] [[fake:retrieve]] [[fake:retrieve Lisbon]] [[fake:text done]]"
    messages: list[Any] = [
        {"role": "user", "content": prompt},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": MARKED}]}]},
    ]
    first = claude.messages.create(model=MODEL, max_tokens=64, tools=TOOLS, messages=messages)
    call = first.content[0]
    assert (call.type, call.name, call.input) == ("tool_use", RETRIEVE_TOOL_NAME, {"id": "3f2a9c1b7d4e"})  # type: ignore[union-attr]
    messages += [
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "the rows"}]},  # type: ignore[union-attr]
    ]
    second = claude.messages.create(model=MODEL, max_tokens=64, tools=TOOLS, messages=messages)
    assert second.content[0].input == {"id": "3f2a9c1b7d4e", "query": "Lisbon"}  # type: ignore[union-attr]


def test_retrieve_without_a_marker_answers_text(claude: anthropic.Anthropic, gpt: openai.OpenAI) -> None:
    message = claude.messages.create(model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "[[fake:retrieve]]"}])
    assert [(b.type, b.text) for b in message.content] == [("text", NO_MARKER_TEXT)]  # type: ignore[union-attr]
    assert message.stop_reason == "end_turn"
    assert gpt.responses.create(model="gpt-5", input="[[fake:retrieve]]").output_text == NO_MARKER_TEXT


def test_retrieve_on_openai_wires(gpt: openai.OpenAI) -> None:
    chat = gpt.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": f"{MARKED} [[fake:retrieve]]"}])
    function = chat.choices[0].message.tool_calls[0].function  # type: ignore[index, union-attr]
    assert (function.name, json.loads(function.arguments)) == (RETRIEVE_TOOL_NAME, {"id": "3f2a9c1b7d4e"})
    items: Any = [{"role": "user", "content": "[[fake:retrieve x]]"}, {"type": "function_call_output", "call_id": "c", "output": MARKED}]
    call = gpt.responses.create(model="gpt-5", input=items).output[0]
    assert call.type == "function_call" and json.loads(call.arguments) == {"id": "3f2a9c1b7d4e", "query": "x"}
