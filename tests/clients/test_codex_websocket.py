"""The real Codex CLI, built-in provider, over WebSocket through the proxy to the fake upstream.

Codex opens `GET /v1/responses` as a WebSocket, sends `response.create` frames (a prewarm, then
turns chained by `previous_response_id`), runs the tool the fake asks for in its sandbox and sends
the output back incrementally. Skipped when the codex binary is not installed (it is an npm
package: scripts/install-clients.sh installs it in .tools/codex).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.clients.clients import CODEX, missing
from tests.proxy.servers import running_proxy
from tests.support.fake_upstream import RunningFakeUpstream, Transport

FLAGS = ["--skip-git-repo-check", "--disable", "plugins", "--disable", "remote_plugin", "--disable", "apps",
         "--disable", "in_app_updates", "--json", "-s", "workspace-write"]  # fmt: skip
ANSWER = "Three payment captures timed out at 09:24."

pytestmark = pytest.mark.skipif(missing(CODEX) is not None, reason=missing(CODEX) or "")


def service_log() -> str:
    """A ~25 KB log in Python logging's default time format, with one burst of errors."""
    lines = []
    for i in range(360):
        stamp = f"2026-11-27 09:{(i * 7 // 60) % 60:02d}:{i * 7 % 60:02d},{(i * 37) % 1000:03d}"
        if i in (211, 212, 213):
            lines.append(f"{stamp} ERROR worker-{i % 4} payment.capture failed: upstream timeout after 30000 ms (order_id=ord_{9000 + i})")
        else:
            lines.append(f"{stamp} INFO  worker-{i % 4} GET /api/orders/{1000 + i} 200 {12 + (i * 13) % 80}ms user=u{(i * 31) % 97:02d}")
    return "\n".join(lines) + "\n"


def test_codex_tool_loop_over_websocket(fake: RunningFakeUpstream, tmp_path: Path) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    (home / ".codex").mkdir(parents=True)
    work.mkdir()
    log = service_log()
    (work / "service.log").write_text(log, encoding="utf-8")
    env = {**os.environ, "HOME": str(home), "CODEX_HOME": str(home / ".codex"), "NO_COLOR": "1"}
    env.pop("OPENAI_API_KEY", None)
    # The built-in provider ignores OPENAI_API_KEY; without a login it sends no Authorization.
    subprocess.run([str(CODEX), "login", "--with-api-key"], input="sk-codex-test\n", env=env, text=True, capture_output=True, timeout=60, check=True)
    # text(r.output): the log itself (text(r) would send the whole result object as one JSON string).
    code = 'const r = await tools.exec_command({cmd: "cat service.log"}); text(r.output);'
    prompt = f"Why did payments fail? [[fake:tool exec {json.dumps(code)}]] [[fake:text {ANSWER}]]"
    start = len(fake.requests)
    with running_proxy(fake.url) as proxy:
        args = ["-c", f'openai_base_url="{proxy}/v1"', "-c", "analytics.enabled=false"]
        run = subprocess.run([str(CODEX), "exec", *FLAGS, *args, prompt], cwd=work, env=env, stdin=subprocess.DEVNULL,
                             capture_output=True, text=True, timeout=240, check=False)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    events = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    items = [e["item"] for e in events if e.get("type") == "item.completed"]
    assert any(item.get("type") == "agent_message" and item.get("text") == ANSWER for item in items), items

    seen = fake.requests[start:]
    assert not [r for r in seen if r.method == "POST" and r.path == "/v1/responses"], "Codex fell back to HTTP"
    handshake = next(r for r in seen if r.transport is Transport.WS_HANDSHAKE)
    assert handshake.header("authorization") == "Bearer sk-codex-test"
    assert "responses_websockets" in (handshake.header("openai-beta") or "")
    frames = [r.json for r in seen if r.transport is Transport.WS_MESSAGE]
    outputs = [item for f in frames for item in f.get("input") or () if isinstance(item, dict) and item.get("type") == "custom_tool_call_output"]
    assert outputs, "the tool's output never went upstream"
    assert frames[-1].get("previous_response_id"), "the tool result should come as an incremental turn"
    sent = json.dumps(outputs[-1]["output"])
    assert "payment.capture failed" in sent  # the errors survive compression
    assert len(sent) < len(log) / 2, "the log output should arrive compressed"
