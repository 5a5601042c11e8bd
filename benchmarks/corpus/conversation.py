"""Agent conversations in the two chat shapes, built turn by turn with deterministic ids.

Anthropic: assistant turns hold `text` + `tool_use` blocks, tool output comes back as
`tool_result` blocks inside the next user message, and the newest message carries a
`cache_control` breakpoint, as Claude Code sends it. OpenAI chat: assistant `tool_calls` and
`role: "tool"` messages.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

Message = dict[str, Any]


@dataclass
class Conversation:
    """A growing agent conversation; `wire` is "anthropic" or "openai-chat"."""

    wire: str
    system: str = ""
    messages: list[Message] = field(default_factory=list)
    _calls: int = 0

    def user(self, text: str) -> None:
        if self.wire == "anthropic":
            self.messages.append({"role": "user", "content": [{"type": "text", "text": text}]})
        else:
            self.messages.append({"role": "user", "content": text})

    def tool(self, name: str, args: dict[str, Any], output: str, *, say: str = "", is_error: bool = False) -> None:
        """One assistant tool call and its result."""
        self._calls += 1
        if self.wire == "anthropic":
            call_id = f"toolu_bench{self._calls:04d}"
            content: list[dict[str, Any]] = []
            if say:
                content.append({"type": "text", "text": say})
            content.append({"type": "tool_use", "id": call_id, "name": name, "input": args})
            self.messages.append({"role": "assistant", "content": content})
            result: dict[str, Any] = {"type": "tool_result", "tool_use_id": call_id, "content": output}
            if is_error:
                result["is_error"] = True
            # Claude Code sends some results as a list of text blocks; alternate to cover both.
            if self._calls % 3 == 0:
                result["content"] = [{"type": "text", "text": output}]
            self.messages.append({"role": "user", "content": [result]})
        else:
            call_id = f"call_bench{self._calls:04d}"
            self.messages.append(
                {
                    "role": "assistant",
                    "content": say or None,
                    "tool_calls": [
                        {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
                    ],
                }
            )
            self.messages.append({"role": "tool", "tool_call_id": call_id, "content": output})

    def assistant(self, text: str) -> None:
        if self.wire == "anthropic":
            self.messages.append({"role": "assistant", "content": [{"type": "text", "text": text}]})
        else:
            self.messages.append({"role": "assistant", "content": text})

    def finish(self) -> list[Message]:
        """The message list as a client would send it (OpenAI with its system message first)."""
        msgs = json.loads(json.dumps(self.messages))
        if self.wire == "anthropic":
            mark_newest(msgs)
            return msgs
        return ([{"role": "system", "content": self.system}] if self.system else []) + msgs


def mark_newest(messages: list[Message]) -> None:
    """Put Claude Code's per-turn cache breakpoint on the last block of the newest message."""
    for msg in messages:
        for block in msg.get("content") or ():
            if isinstance(block, dict):
                block.pop("cache_control", None)
    last = messages[-1]
    if isinstance(last.get("content"), list) and last["content"]:
        last["content"][-1]["cache_control"] = {"type": "ephemeral"}
