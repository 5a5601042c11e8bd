"""Tool-result interception: the first read of a large code file becomes its outline, later reads pass whole."""

from __future__ import annotations

import inspect
import json

import headroom_core.pipeline as pipeline_module
from headroom_core import Action, compress

# A real source file of the core itself: long enough, parses, many functions.
SOURCE = inspect.getsource(pipeline_module) * 3
NUMBERED = "\n".join(f"{n:>6}\t{line}" for n, line in enumerate(SOURCE.split("\n"), start=1))


def _read(i: int, path: str, text: str, **args: object) -> list[dict]:
    return [
        {"role": "assistant", "content": [{"type": "tool_use", "id": f"t{i}", "name": "Read", "input": {"file_path": path, **args}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"t{i}", "content": text}]},
    ]


def _session() -> list[dict]:
    return [
        {"role": "user", "content": "How does the pipeline decide?"},
        *_read(1, "/repo/pipeline.py", NUMBERED),
        *_read(2, "/repo/pipeline.py", NUMBERED),
        *_read(3, "/repo/other.py", NUMBERED, offset=1, limit=2000),
    ]


def test_first_read_is_outlined_and_later_reads_pass_whole() -> None:
    session = _session()
    result = compress(session, intercept_tool_results=True, read_lifecycle=False)
    first = result.messages[2]["content"][0]["content"]
    assert len(first) < len(NUMBERED) / 2
    assert "[[headroom: body of" in first and first.rstrip().endswith("a later read passes whole]]")
    assert result.messages[4] == session[4]
    reasons = {d.path[:2]: d.reason for d in result.decisions}
    assert reasons[("messages", 2)] == "outline of the first read of /repo/pipeline.py"
    assert reasons[("messages", 4)] == "a read of /repo/pipeline.py after its outline passes whole"
    # a partial read is never intercepted
    assert result.messages[6] == session[6]


def test_off_by_default_and_cache_stable() -> None:
    session = _session()
    assert compress(session, read_lifecycle=False).messages[2] == session[2]
    early = compress(session[:3], intercept_tool_results=True).messages
    late = compress(session, intercept_tool_results=True, read_lifecycle=False).messages
    assert json.dumps(late[:3]) == json.dumps(early)


def test_small_reads_are_not_intercepted() -> None:
    small = "\n".join(NUMBERED.split("\n")[:60])
    messages = [{"role": "user", "content": "look"}, *_read(1, "/repo/pipeline.py", small)]
    result = compress(messages, intercept_tool_results=True)
    assert all(d.action is not Action.COMPRESSED or "outline" not in d.reason for d in result.decisions)
