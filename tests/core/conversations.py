"""Hypothesis strategies for realistic agent conversations (Anthropic and OpenAI chat shapes)."""

from __future__ import annotations

import json

from hypothesis import strategies as st

_WORDS = st.sampled_from(
    "alpha beta gamma delta error warning ok ready timeout user order item src lib test main config".split()
)


@st.composite
def tool_outputs(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["json_rows", "log", "listing", "text", "small"]))
    if kind == "json_rows":
        n = draw(st.integers(min_value=3, max_value=80))
        status = draw(st.lists(st.sampled_from(["ok", "ok", "ok", "error", "pending"]), min_size=n, max_size=n))
        rows = [
            {"id": i, "name": f"{draw(_WORDS)}-{i}", "status": status[i], "score": round(i * 1.5, 1), "note": None}
            for i in range(n)
        ]
        return json.dumps(rows, indent=draw(st.sampled_from([2, 4])))
    if kind == "log":
        n = draw(st.integers(min_value=5, max_value=120))
        lines = [f"2026-11-27 10:{i // 60:02d}:{i % 60:02d} INFO worker {draw(_WORDS)} handled request {i}" for i in range(n)]
        if draw(st.booleans()):
            lines.insert(n // 2, "2026-11-27 10:00:00 ERROR worker crashed: KeyError 'user_id'")
        repeat = draw(st.integers(min_value=0, max_value=30))
        lines[1:1] = ["heartbeat ok"] * repeat
        return "\n".join(lines)
    if kind == "listing":
        n = draw(st.integers(min_value=5, max_value=150))
        return "\n".join(f"/usr/lib/python3.11/site-packages/pkg/{draw(_WORDS)}/mod_{i}.py" for i in range(n))
    if kind == "text":
        return " ".join(draw(st.lists(_WORDS, min_size=20, max_size=400)))
    return draw(st.text(max_size=30))


@st.composite
def anthropic_conversations(draw: st.DrawFn) -> list[dict]:
    messages: list[dict] = [{"role": "user", "content": f"please look at {draw(_WORDS)}"}]
    for turn in range(draw(st.integers(min_value=1, max_value=5))):
        call_id = f"toolu_{turn:02d}"
        name = draw(st.sampled_from(["Bash", "Read", "Grep", "mcp__db__query"]))
        messages.append(
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": f"step {turn}", "signature": f"sig{turn}=="},
                    {"type": "text", "text": "Let me check."},
                    {"type": "tool_use", "id": call_id, "name": name, "input": {"command": f"run {turn}"}},
                ],
            }
        )
        result: dict = {"type": "tool_result", "tool_use_id": call_id, "content": draw(tool_outputs())}
        if draw(st.booleans()):
            result["content"] = [{"type": "text", "text": result["content"]}]
        if draw(st.booleans()):
            result["is_error"] = True
        content: list[dict] = [result]
        if draw(st.booleans()):
            content.append({"type": "text", "text": f"and {draw(_WORDS)}?"})
        messages.append({"role": "user", "content": content})
    # Claude Code marks the newest block with cache_control each turn.
    messages[-1]["content"][-1]["cache_control"] = {"type": "ephemeral"}
    return messages


@st.composite
def openai_conversations(draw: st.DrawFn) -> list[dict]:
    messages: list[dict] = [
        {"role": "system", "content": "You are a coding agent."},
        {"role": "user", "content": f"please look at {draw(_WORDS)}"},
    ]
    for turn in range(draw(st.integers(min_value=1, max_value=5))):
        call_id = f"call_{turn:02d}"
        messages.append(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": call_id, "type": "function", "function": {"name": "shell", "arguments": json.dumps({"cmd": f"run {turn}"})}}
                ],
            }
        )
        messages.append({"role": "tool", "tool_call_id": call_id, "content": draw(tool_outputs())})
    return messages


conversations = st.one_of(anthropic_conversations(), openai_conversations())
