"""The read lifecycle on a replayed Claude Code style session, and on Codex-style shell reads."""

from __future__ import annotations

import json

from headroom_core import MARKER_PATTERN, Action, compress, retrieve

SOURCE = "\n".join(f"{n:>6}\tline {n} of app.py: value = compute({n})" for n in range(1, 121))
OTHER = "\n".join(f"{n:>6}\tline {n} of util.py" for n in range(1, 121))


def _call(i: int, name: str, args: dict) -> dict:
    return {"role": "assistant", "content": [{"type": "text", "text": "ok"}, {"type": "tool_use", "id": f"t{i}", "name": name, "input": args}]}


def _result(i: int, text: str, is_error: bool = False) -> dict:
    block: dict = {"type": "tool_result", "tool_use_id": f"t{i}", "content": text}
    if is_error:
        block["is_error"] = True
    return {"role": "user", "content": [block]}


def _session() -> list[dict]:
    return [
        {"role": "user", "content": "Fix the bug in app.py"},
        _call(1, "Read", {"file_path": "/repo/app.py"}),                       # 1, 2: stale (edited at 7)
        _result(1, SOURCE),
        _call(2, "Read", {"file_path": "/repo/./util.py", "offset": 10, "limit": 50}),  # 3, 4: superseded by 9
        _result(2, OTHER),
        _call(3, "Edit", {"file_path": "/repo/util.py", "old_string": "a", "new_string": "b"}),  # 5, 6: failed edit
        _result(3, "String to replace not found in file.", is_error=True),
        _call(4, "Edit", {"file_path": "/repo/app.py", "old_string": "a", "new_string": "b"}),  # 7, 8
        _result(4, "The file /repo/app.py has been updated."),
        _call(5, "Read", {"file_path": "/repo/util.py", "offset": 10, "limit": 50}),  # 9, 10: same range again
        _result(5, OTHER),
        _call(6, "Read", {"file_path": "/repo/app.py", "offset": 1, "limit": 40}),   # 11, 12: partial, newest
        _result(6, SOURCE),
    ]


def test_exactly_the_expected_reads_become_markers() -> None:
    session = _session()
    result = compress(session, min_tokens=10**6)  # floors so high that only the lifecycle acts
    stale = {d.path[:2]: d for d in result.decisions if d.action is Action.STALE}
    assert set(stale) == {("messages", 2), ("messages", 4)}
    assert "stale read of /repo/app.py" in stale[("messages", 2)].reason
    assert "changed later by Edit at $.messages[7]" in stale[("messages", 2)].reason
    assert "superseded read of /repo/util.py" in stale[("messages", 4)].reason
    assert "read again later by Read at $.messages[9]" in stale[("messages", 4)].reason
    for i, (before, after) in enumerate(zip(session, result.messages)):
        if i not in (2, 4):
            assert after == before
    text = result.messages[2]["content"][0]["content"]
    match = MARKER_PATTERN.fullmatch(text)
    assert match and retrieve(result.originals, match["id"]) == SOURCE
    saved = sum(d.tokens_before - d.tokens_after for d in stale.values())
    assert saved > 0 and result.tokens_before - result.tokens_after == saved


def test_failed_edits_do_not_make_reads_stale() -> None:
    session = _session()[:7] + [{"role": "assistant", "content": "done"}]
    result = compress(session, min_tokens=10**6)
    assert [d.path[:2] for d in result.decisions if d.action is Action.STALE] == []


def test_cache_mode_and_the_flag_turn_it_off() -> None:
    session = _session()
    assert not compress(session, mode="cache", min_tokens=10**6).changed
    assert not compress(session, read_lifecycle=False, min_tokens=10**6).changed
    assert not compress(session, lossless=True, min_tokens=10**6).changed


def test_protected_tools_are_left_alone() -> None:
    result = compress(_session(), protect_tools=frozenset({"Read"}), min_tokens=10**6)
    assert not result.changed


def test_idempotent() -> None:
    once = compress(_session())
    assert not compress(once.messages).changed


def test_codex_style_shell_reads_and_apply_patch() -> None:
    messages = [
        {"role": "user", "content": "update main.go"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "shell", "arguments": json.dumps({"command": ["bash", "-lc", "cat main.go"]})}}]},
        {"role": "tool", "tool_call_id": "c1", "content": SOURCE},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c2", "type": "function", "function": {"name": "exec_command", "arguments": json.dumps({"cmd": "sed -n '1,40p' util.go"})}}]},
        {"role": "tool", "tool_call_id": "c2", "content": OTHER},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c3", "type": "function", "function": {"name": "apply_patch", "arguments": json.dumps({"input": "*** Begin Patch\n*** Update File: main.go\n@@\n-a\n+b\n*** End Patch"})}}]},
        {"role": "tool", "tool_call_id": "c3", "content": "Success. Updated the following files:\nM main.go"},
        {"role": "user", "content": "thanks"},
    ]
    result = compress(messages, min_tokens=10**6)
    assert [d.path[:2] for d in result.decisions if d.action is Action.STALE] == [("messages", 2)]
