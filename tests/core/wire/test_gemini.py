from __future__ import annotations

import json

import pytest

from headroom_core import InvalidRequest, Source
from headroom_core.wire.gemini import segments, splice

BODY = {
    "systemInstruction": {"parts": [{"text": "be helpful"}]},
    "contents": [
        {"role": "user", "parts": [{"text": "weather?"}, {"inlineData": {"mimeType": "image/png", "data": "AA=="}}]},
        {"role": "model", "parts": [{"text": "thinking", "thought": True}, {"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {"output": "rain", "code": 200}}}]},
        {"role": "model", "parts": [{"text": "It rains."}]},
    ],
    "tools": [{"functionDeclarations": [{"name": "get_weather"}]}],
    "generationConfig": {"temperature": 0},
}


def test_segments_sources_turns_and_pairing() -> None:
    segs = segments(BODY)
    assert [(s.path, s.source, s.turn, s.tool_name) for s in segs] == [
        (("systemInstruction", "parts", 0, "text"), Source.SYSTEM, 0, None),
        (("contents", 0, "parts", 0, "text"), Source.USER_TEXT, 0, None),
        (("contents", 1, "parts", 1, "functionCall", "args"), Source.TOOL_CALL, 0, "get_weather"),
        (("contents", 2, "parts", 0, "functionResponse", "response", "output"), Source.TOOL_RESULT, 1, "get_weather"),
        (("contents", 3, "parts", 0, "text"), Source.ASSISTANT_TEXT, 1, None),
    ]
    assert segs[3].tool_args == '{"city":"Oslo"}'


def test_round_trip_is_byte_identical() -> None:
    texts = {s.path: s.text for s in segments(BODY) if s.source is not Source.TOOL_CALL}
    assert json.dumps(splice(BODY, texts)) == json.dumps(BODY)


def test_wrong_wire() -> None:
    with pytest.raises(InvalidRequest) as err:
        segments({"messages": []})
    assert str(err.value) == "$: expected a Gemini generateContent request body with 'contents', got an object with 'messages' instead"
