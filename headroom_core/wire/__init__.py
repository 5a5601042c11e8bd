"""Wire adapters: one module per provider request format, each with `segments(body)` and `splice(body, texts)`."""

from __future__ import annotations

from types import ModuleType

from ..config import Wire
from . import anthropic, gemini, openai_chat, openai_responses

ADAPTERS: dict[Wire, ModuleType] = {
    Wire.ANTHROPIC: anthropic,
    Wire.OPENAI_CHAT: openai_chat,
    Wire.OPENAI_RESPONSES: openai_responses,
    Wire.GEMINI: gemini,
}
