"""The public entry points: shapes, options, errors, counts."""

from __future__ import annotations

import json

import pytest

from headroom_core import (
    Action,
    Config,
    InvalidRequest,
    Mode,
    UnknownWire,
    Wire,
    compress,
    compress_request,
    count_tokens,
    detect_wire,
    encoding_for_model,
)


def _rows(n: int) -> str:
    rows = [{"id": i, "name": f"user{i}", "email": f"user{i}@example.com", "active": i % 7 != 0, "score": i * 1.5} for i in range(n)]
    return json.dumps(rows, indent=2)


def _conversation(*outputs: str, tool: str = "query_db") -> list[dict]:
    messages: list[dict] = [{"role": "user", "content": "Which users are inactive?"}]
    for i, output in enumerate(outputs):
        messages.append({"role": "assistant", "content": [{"type": "tool_use", "id": f"t{i}", "name": tool, "input": {"sql": "select *"}}]})
        messages.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"t{i}", "content": output}]})
    return messages


def test_200_row_json_saves_a_quarter_losslessly() -> None:
    result = compress(_conversation(_rows(200)), lossless=True)
    assert result.changed
    assert result.tokens_after <= 0.75 * result.tokens_before
    assert not result.originals, "lossless output is its own original"
    (decision,) = [d for d in result.decisions if d.action is Action.COMPACTED]
    assert decision.path == ("messages", 2, "content", 0, "content")


def test_counts_are_exact_sums_over_segments() -> None:
    messages = _conversation(_rows(50))
    result = compress(messages)
    assert result.tokens_before == sum(d.tokens_before for d in result.decisions)
    texts = ["Which users are inactive?", '{"sql":"select *"}', _rows(50)]
    assert result.tokens_before == sum(count_tokens(t) for t in texts)
    assert result.tokens_after == sum(d.tokens_after for d in result.decisions)


def test_unchanged_result_is_the_input_object() -> None:
    body = {"model": "claude-x", "messages": [{"role": "user", "content": "hi"}]}
    result = compress_request(body, wire="anthropic")
    assert result.body is body and not result.changed and result.tokens_before == result.tokens_after


def test_cache_mode_leaves_earlier_turns_and_compresses_the_newest() -> None:
    messages = _conversation(_rows(100), _rows(120))
    token = compress(messages, mode="token")
    cache = compress(messages, mode=Mode.CACHE)
    assert token.messages[2] != messages[2] and token.messages[4] != messages[4]
    assert cache.messages[2] is messages[2] and cache.messages[4] != messages[4]
    reasons = {d.path[:2]: d.reason for d in cache.decisions}
    assert reasons[("messages", 2)].startswith("cache mode")


def test_floors_keep_small_outputs() -> None:
    messages = _conversation(_rows(100))
    assert compress(messages).changed
    assert not compress(messages, min_chars=10**6).changed
    assert not compress(messages, min_tokens=10**6).changed


def test_user_text_system_and_tool_arguments_are_never_touched() -> None:
    pretty = _rows(60)
    messages = [
        {"role": "user", "content": pretty},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "x", "input": json.loads(pretty)}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "ok"}, {"type": "text", "text": pretty}]},
    ]
    result = compress(messages)
    assert not result.changed
    body = {"system": pretty, "messages": [{"role": "user", "content": "hi"}]}
    assert not compress_request(body, wire="anthropic").changed


def test_options_come_from_config_and_keywords() -> None:
    cfg = Config(mode="cache", protect_tools={"Read"})
    assert cfg.mode is Mode.CACHE and cfg.protect_tools == frozenset({"Read"})
    assert hash(cfg) == hash(Config(mode=Mode.CACHE, protect_tools=frozenset({"Read"})))
    with pytest.raises(TypeError, match="unknown option"):
        compress([], no_such_option=True)
    with pytest.raises(ValueError, match="target_ratio"):
        Config(target_ratio=1.5)


def test_wire_names() -> None:
    assert Wire("openai-chat") is Wire.OPENAI_CHAT and Wire.GEMINI == "gemini"
    with pytest.raises(UnknownWire, match="expected one of anthropic, gemini, openai-chat, openai-responses"):
        compress_request({"messages": []}, wire="openai")


@pytest.mark.parametrize(
    ("messages", "path"),
    [
        ("not a list", "$"),
        ([{"content": "no role"}], "$.messages[0].role"),
        ([{"role": "user", "content": ["not a block"]}], "$.messages[0].content[0]"),
    ],
)
def test_invalid_input_names_the_path(messages: object, path: str) -> None:
    with pytest.raises(InvalidRequest) as err:
        compress(messages)
    assert str(err.value).startswith(f"{path}: expected")


def test_detect_wire() -> None:
    assert detect_wire([{"role": "user", "content": "hi"}]) is Wire.ANTHROPIC
    assert detect_wire([{"role": "tool", "tool_call_id": "c", "content": "x"}]) is Wire.OPENAI_CHAT
    claude_code = [
        {"role": "user", "content": [{"type": "text", "text": "go"}]},
        {"role": "system", "content": "agent list"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "Read", "input": {}}]},
    ]
    assert detect_wire(claude_code) is Wire.ANTHROPIC


def test_model_names_pick_the_encoding() -> None:
    assert encoding_for_model("gpt-4") == "cl100k_base"
    assert encoding_for_model("openai/gpt-4o") == "o200k_base"
    assert encoding_for_model("claude-opus-4-8") == "o200k_base"
    assert encoding_for_model(None) == "o200k_base"
    text = "Привет, мир! 你好世界 " * 50
    assert count_tokens(text, "cl100k_base") != count_tokens(text, "o200k_base")
    messages = [{"role": "user", "content": text}]
    assert compress(messages, model="gpt-3.5-turbo").tokens_before == count_tokens(text, "cl100k_base")
    assert compress(messages, model="gpt-4o").tokens_before == count_tokens(text, "o200k_base")
