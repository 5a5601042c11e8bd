"""The public entry points: compress a message list or a whole request body."""

from __future__ import annotations

from collections.abc import Container
from typing import Any

from .config import Config, Wire
from .errors import InvalidRequest
from .pipeline import run
from .result import Result
from .tokens import encoding_for_model
from .wire import ADAPTERS

# Fields that only one of the two message shapes uses.
_ANTHROPIC_BLOCKS = frozenset({"tool_use", "tool_result", "thinking", "redacted_thinking", "document", "server_tool_use"})
_OPENAI_ROLES = frozenset({"tool", "function", "developer", "system"})
_OPENAI_PARTS = frozenset({"image_url", "input_audio", "file", "refusal"})


def compress(
    messages: Any,
    *,
    model: str | None = None,
    config: Config | None = None,
    previously_compressed: Container[str] = frozenset(),
    **options: Any,
) -> Result:
    """Compress an Anthropic or OpenAI chat message list (the shape is detected).

    `options` are Config fields (mode, target_ratio, lossless, ...); `result.messages` is the new list.
    In cache mode, pass the `compressed_ids` of the earlier calls of this conversation as
    `previously_compressed` (see `compress_request`).

    >>> r = compress([{"role": "user", "content": "hi"}])
    >>> r.changed, r.messages
    (False, [{'role': 'user', 'content': 'hi'}])
    """
    if not isinstance(messages, list):
        raise InvalidRequest((), "a list of messages", messages)
    wire = detect_wire(messages)
    return compress_request(
        {"messages": messages}, wire=wire, model=model, config=config, previously_compressed=previously_compressed, **options
    )


def compress_request(
    body: Any,
    *,
    wire: Wire | str,
    model: str | None = None,
    config: Config | None = None,
    previously_compressed: Container[str] = frozenset(),
    **options: Any,
) -> Result:
    """Compress a whole request body of the given wire format; `result.body` is the new body.

    When nothing changed, `result.changed` is False and `result.body` is the very object passed in.
    Cache mode rewrites only the newest turn, plus earlier tool results whose retrieval id is in
    `previously_compressed` (the `compressed_ids` of earlier calls): those went to the provider
    compressed, so sending them compressed again, byte for byte the same, is what keeps its cache.

    >>> compress_request({"model": "gpt-4o", "messages": []}, wire="openai-chat").changed
    False
    """
    adapter = ADAPTERS[Wire.parse(wire)]
    cfg = Config.from_options(config, **options)
    name = model if model is not None else (body.get("model") if isinstance(body, dict) else None)
    encoding = encoding_for_model(name if isinstance(name, str) else None, cfg.encoding)
    return run(body, adapter, cfg, encoding, previously_compressed)


def detect_wire(messages: list[Any]) -> Wire:
    """Anthropic or OpenAI chat: Anthropic when any block is Anthropic's own, else OpenAI when any
    role or part is OpenAI's, else Anthropic (plain text messages read the same in both)."""
    dicts = [m for m in messages if isinstance(m, dict)]
    kinds = {
        block.get("type")
        for m in dicts
        if isinstance(m.get("content"), list)
        for block in m["content"]
        if isinstance(block, dict)
    }
    if kinds & _ANTHROPIC_BLOCKS:
        return Wire.ANTHROPIC
    if kinds & _OPENAI_PARTS or any(
        m.get("role") in _OPENAI_ROLES or "tool_calls" in m or "function_call" in m for m in dicts
    ):
        return Wire.OPENAI_CHAT
    return Wire.ANTHROPIC
