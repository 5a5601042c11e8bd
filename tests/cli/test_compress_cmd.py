from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

FIXTURE = Path(__file__).parents[1] / "fixtures" / "requests" / "claude-code-tool-loop-last.json"


def _run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "headroom_cli", *args], input=stdin, capture_output=True, text=True, timeout=60)


def test_compress_a_real_request_body(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    done = _run("compress", str(FIXTURE), "-o", str(out))
    assert done.returncode == 0, done.stderr
    body = json.loads(out.read_text())
    original = json.loads(FIXTURE.read_text())
    assert body["system"] == original["system"] and body["tools"] == original["tools"]
    assert len(json.dumps(body)) < len(json.dumps(original))
    assert "saved" in done.stderr


def test_compress_a_message_list_from_stdin_losslessly() -> None:
    rows = json.dumps([{"id": i, "name": f"n{i}"} for i in range(100)], indent=2)
    messages = [
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c", "type": "function", "function": {"name": "q", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c", "content": rows},
    ]
    done = _run("compress", "--lossless", "--no-stats", stdin=json.dumps(messages))
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out[1]["content"].startswith("[[headroom table") and done.stderr == ""


def test_errors_are_clear_and_nonzero() -> None:
    done = _run("compress", stdin='{"contents": 3}')
    assert done.returncode == 1 and "$.contents: expected an array, got number" in done.stderr
    done = _run("compress", stdin="[1")
    assert done.returncode == 2 and "not JSON" in done.stderr
