from __future__ import annotations

import json

import pytest

from headroom_core import InvalidRequest, Source
from headroom_core.wire.openai_chat import segments, splice

BODY = {
    "model": "gpt-4o",
    "messages": [
        {"role": "developer", "content": "rules"},
        {"role": "system", "content": [{"type": "text", "text": "sys"}]},
        {"role": "user", "content": [{"type": "text", "text": "look"}, {"type": "image_url", "image_url": {"url": "data:,"}}]},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "shell", "arguments": "{\"cmd\":\"ls\"}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "a\nb"},
        {"role": "assistant", "content": None, "function_call": {"name": "legacy", "arguments": "{}"}},
        {"role": "function", "name": "legacy", "content": "legacy out"},
        {"role": "assistant", "content": "done", "refusal": None},
        {"role": "oracle", "content": "unknown role"},
    ],
    "stream_options": {"include_usage": True},
}


def test_segments_sources_turns_and_pairing() -> None:
    segs = segments(BODY)
    assert [(s.path, s.source, s.turn, s.tool_name) for s in segs] == [
        (("messages", 0, "content"), Source.SYSTEM, 0, None),
        (("messages", 1, "content", 0, "text"), Source.SYSTEM, 0, None),
        (("messages", 2, "content", 0, "text"), Source.USER_TEXT, 0, None),
        (("messages", 3, "tool_calls", 0, "function", "arguments"), Source.TOOL_CALL, 0, "shell"),
        (("messages", 4, "content"), Source.TOOL_RESULT, 1, "shell"),
        (("messages", 5, "function_call", "arguments"), Source.TOOL_CALL, 1, "legacy"),
        (("messages", 6, "content"), Source.TOOL_RESULT, 2, "legacy"),
        (("messages", 7, "content"), Source.ASSISTANT_TEXT, 2, None),
    ]
    assert segs[4].tool_args == '{"cmd":"ls"}' and segs[4].tool_call_id == "call_1"


def test_round_trip_is_byte_identical() -> None:
    texts = {s.path: s.text for s in segments(BODY)}
    assert json.dumps(splice(BODY, texts)) == json.dumps(BODY)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"input": []}, "$: expected an OpenAI Chat Completions request body with 'messages', got an object with 'input' instead"),
        ({"messages": [{"role": "user", "content": [1]}]}, "$.messages[0].content[0]: expected a content part (an object), got number"),
        ({"messages": [{"role": "assistant", "tool_calls": ["x"]}]}, "$.messages[0].tool_calls[0]: expected a tool call (an object), got string"),
    ],
)
def test_invalid_bodies_name_the_path(body: object, message: str) -> None:
    with pytest.raises(InvalidRequest) as err:
        segments(body)
    assert str(err.value) == message
