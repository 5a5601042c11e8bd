from __future__ import annotations

import json

import pytest

from headroom_core import InvalidRequest, Source
from headroom_core.wire.anthropic import segments, splice

BODY = {
    "model": "claude-opus-4-8",
    "system": [{"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}}],
    "messages": [
        {"role": "user", "content": [{"type": "text", "text": "<system-reminder>x</system-reminder>"}, {"type": "text", "text": "fix it"}]},
        {"role": "system", "content": "agent types: ..."},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "hmm", "signature": "abc=="},
                {"type": "redacted_thinking", "data": "zzz"},
                {"type": "text", "text": "Reading."},
                {"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {"file_path": "/a.py"}},
                {"type": "server_tool_use", "id": "srv_1", "name": "web_search", "input": {"query": "q"}},
                {"type": "web_search_tool_result", "tool_use_id": "srv_1", "content": []},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "1\tcode"}, {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AA=="}}]},
                {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "doc"}},
                {"type": "x_future_block", "payload": 1},
            ],
        },
        {"role": "assistant", "content": "plain answer"},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "nope", "content": "orphan", "is_error": True, "cache_control": {"type": "ephemeral"}}]},
        {"role": "critic", "content": "unknown role passes"},
    ],
    "x_unknown_field": {"keep": True},
}


def test_segments_in_order_with_sources_turns_and_pairing() -> None:
    segs = segments(BODY)
    summary = [(s.path, s.source, s.turn, s.tool_name) for s in segs]
    assert summary == [
        (("system", 0, "text"), Source.SYSTEM, 0, None),
        (("messages", 0, "content", 0, "text"), Source.USER_TEXT, 0, None),
        (("messages", 0, "content", 1, "text"), Source.USER_TEXT, 0, None),
        (("messages", 1, "content"), Source.SYSTEM, 0, None),
        (("messages", 2, "content", 2, "text"), Source.ASSISTANT_TEXT, 0, None),
        (("messages", 2, "content", 3, "input"), Source.TOOL_CALL, 0, "Read"),
        (("messages", 3, "content", 0, "content", 0, "text"), Source.TOOL_RESULT, 1, "Read"),
        (("messages", 4, "content"), Source.ASSISTANT_TEXT, 1, None),
        (("messages", 5, "content", 0, "content"), Source.TOOL_RESULT, 2, None),
    ]
    result = segs[6]
    assert result.tool_args == '{"file_path":"/a.py"}' and result.tool_call_id == "toolu_1"
    assert segs[-1].is_error


def test_round_trip_is_byte_identical() -> None:
    texts = {s.path: s.text for s in segments(BODY) if s.source is not Source.TOOL_CALL}
    assert json.dumps(splice(BODY, texts)) == json.dumps(BODY)


def test_splice_copies_only_what_it_changes() -> None:
    path = ("messages", 3, "content", 0, "content", 0, "text")
    out = splice(BODY, {path: "short"})
    assert out["messages"][3]["content"][0]["content"][0]["text"] == "short"
    assert BODY["messages"][3]["content"][0]["content"][0]["text"] == "1\tcode"
    assert out["messages"][2] is BODY["messages"][2]
    assert out["system"] is BODY["system"]


def test_system_as_string() -> None:
    segs = segments({"system": "be brief", "messages": []})
    assert [(s.path, s.source) for s in segs] == [(("system",), Source.SYSTEM)]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "$: expected an Anthropic Messages request body (an object), got array"),
        ({"input": "hi"}, "$: expected an Anthropic Messages request body with 'messages', got an object with 'input' instead"),
        ({"messages": {}}, "$.messages: expected an array, got object"),
        ({"messages": ["hi"]}, "$.messages[0]: expected an object, got string"),
        ({"messages": [{"content": "hi"}]}, "$.messages[0].role: expected a role string, got null"),
        ({"messages": [{"role": "user", "content": ["x"]}]}, "$.messages[0].content[0]: expected a block (an object), got string"),
        ({"messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": [3]}]}]},
         "$.messages[0].content[0].content[0]: expected a block (an object), got number"),
        ({"system": 5, "messages": []}, "$.system: expected a string or an array of blocks, got number"),
    ],
)
def test_invalid_bodies_name_the_path(body: object, message: str) -> None:
    with pytest.raises(InvalidRequest) as err:
        segments(body)
    assert str(err.value) == message
