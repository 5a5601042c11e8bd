from __future__ import annotations

import json

import pytest

from headroom_core import InvalidRequest, Source
from headroom_core.wire.openai_responses import segments, splice

BODY = {
    "model": "gpt-5",
    "instructions": "be terse",
    "previous_response_id": "resp_0",
    "input": [
        {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "dev rules"}]},
        {"type": "additional_tools", "tools": [{"type": "custom", "name": "exec"}]},
        {"role": "user", "content": "hello"},
        {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAA"},
        {"type": "function_call", "call_id": "c1", "name": "exec_command", "arguments": "{\"cmd\":\"cat a\"}"},
        {"type": "function_call_output", "call_id": "c1", "output": "file text"},
        {"type": "custom_tool_call", "call_id": "c2", "name": "exec", "input": "tools.exec_command({cmd:'ls'})"},
        {"type": "custom_tool_call_output", "call_id": "c2", "output": [{"type": "input_text", "text": "ls out"}]},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "all good", "annotations": []}]},
        {"type": "web_search_call", "id": "ws_1", "status": "completed"},
        {"type": "future_item", "x": 1},
    ],
}


def test_segments_sources_turns_and_pairing() -> None:
    segs = segments(BODY)
    assert [(s.path, s.source, s.turn, s.tool_name) for s in segs] == [
        (("instructions",), Source.SYSTEM, 0, None),
        (("input", 0, "content", 0, "text"), Source.SYSTEM, 0, None),
        (("input", 2, "content"), Source.USER_TEXT, 0, None),
        (("input", 4, "arguments"), Source.TOOL_CALL, 0, "exec_command"),
        (("input", 5, "output"), Source.TOOL_RESULT, 1, "exec_command"),
        (("input", 6, "input"), Source.TOOL_CALL, 1, "exec"),
        (("input", 7, "output", 0, "text"), Source.TOOL_RESULT, 2, "exec"),
        (("input", 8, "content", 0, "text"), Source.ASSISTANT_TEXT, 2, None),
    ]


def test_string_input() -> None:
    segs = segments({"input": "hi"})
    assert [(s.path, s.source) for s in segs] == [(("input",), Source.USER_TEXT)]


def test_round_trip_is_byte_identical() -> None:
    texts = {s.path: s.text for s in segments(BODY)}
    assert json.dumps(splice(BODY, texts)) == json.dumps(BODY)


def test_invalid_item() -> None:
    with pytest.raises(InvalidRequest) as err:
        segments({"input": [{"role": "user", "content": [7]}]})
    assert str(err.value) == "$.input[0].content[0]: expected a content part (an object), got number"
