"""The Codex CLI (the real `codex exec`) in a multi-turn tool loop, directly and through the proxy.

Codex talks to a custom model provider over plain HTTP + SSE (`wire_api = "responses"`). The fake
upstream asks it to run `exec_command` twice (cat a big pretty JSON file, then cat a service log);
Codex runs both in its sandbox and sends the full history back each turn, then the fake answers
with a final text. The same prompt runs straight at the fake and through the proxy (with a
recorder in front of it, so the tests can compare what Codex sent with what reached the upstream).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.clients.clients import (
    CODEX,
    ClientRun,
    assert_tools_kept,
    big_pretty_json,
    directive,
    dumps,
    missing,
)

pytestmark = [
    pytest.mark.skipif(missing(CODEX) is not None, reason=str(missing(CODEX))),
    pytest.mark.timeout(300),
]

FINAL_TEXT = "Three payment captures timed out; 22 of the 150 users are inactive."
FLAGS = [
    "--skip-git-repo-check",
    "--disable", "plugins",
    "--disable", "remote_plugin",
    "--disable", "apps",
    "--disable", "in_app_updates",
    "--json",
    "-s", "workspace-write",
]  # fmt: skip


def service_log() -> str:
    """A deterministic ~30 KB service log: repetitive INFO lines, a few warnings, one error burst."""
    lines = []
    for i in range(360):
        minute, second = divmod(i * 7, 60)
        stamp = f"2026-11-27T09:{minute % 60:02d}:{second:02d}.{(i * 37) % 1000:03d}Z"
        if i in (211, 212, 213):
            lines.append(f"{stamp} ERROR worker-{i % 4} payment.capture failed: upstream timeout after 30000 ms (order_id=ord_{9000 + i})")
        elif i % 45 == 0:
            lines.append(f"{stamp} WARN  worker-{i % 4} queue depth {120 + i} above soft limit 100")
        else:
            lines.append(f"{stamp} INFO  worker-{i % 4} GET /api/orders/{1000 + i} 200 {12 + (i * 13) % 80}ms user=u{(i * 31) % 97:02d}")
    return "\n".join(lines) + "\n"


class Run(ClientRun):
    """One `codex exec` run: its JSON events, what Codex sent (through the proxy only) and what
    the upstream received."""

    def items(self, kind: str) -> list[dict[str, Any]]:
        return [e["item"] for e in self.events if e.get("type") == "item.completed" and e["item"].get("type") == kind]

    def commands(self) -> list[tuple[str, str, int | None, str]]:
        """(command, output, exit code, status) of every command Codex ran."""
        return [(i["command"], i.get("aggregated_output", ""), i.get("exit_code"), i.get("status")) for i in self.items("command_execution")]

    def final_text(self) -> str:
        return self.items("agent_message")[-1]["text"]


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One project directory both runs work in, so their command outputs can be equal."""
    work = tmp_path_factory.mktemp("codex-work")
    (work / "users.json").write_text(big_pretty_json() + "\n", encoding="utf-8")
    (work / "service.log").write_text(service_log(), encoding="utf-8")
    return work


PROMPT = " ".join(
    [
        "Why did payments fail, and how many users are inactive?",
        directive("exec_command", {"cmd": "cat users.json", "max_output_tokens": 20000}),
        directive("exec_command", {"cmd": "cat service.log", "max_output_tokens": 20000}),
        f"[[fake:text {FINAL_TEXT}]]",
    ]
)


def run_codex(base_url: str, home: Path, work: Path, prompt: str = PROMPT, timeout_s: float = 180) -> subprocess.CompletedProcess[str]:
    """`codex exec PROMPT` in `work`, with a custom provider at `base_url` (HTTP, Responses)."""
    codex_home = home / ".codex"
    codex_home.mkdir(parents=True)
    (codex_home / "config.toml").write_text(
        f"""model_provider = "fake"

[model_providers.fake]
name = "fake"
base_url = "{base_url}/v1"
env_key = "OPENAI_API_KEY"
wire_api = "responses"

[analytics]
enabled = false
""",
        encoding="utf-8",
    )
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "CODEX_HOME": str(codex_home), "OPENAI_API_KEY": "dummy"}
    return subprocess.run(
        [str(CODEX), "exec", *FLAGS, prompt], check=False, cwd=work, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout_s
    )


@pytest.fixture(scope="module")
def direct(work: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    return Run.direct(lambda url: run_codex(url, tmp_path_factory.mktemp("codex-home-direct"), work), "/v1/responses")


@pytest.fixture(scope="module")
def proxied(work: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    return Run.proxied(lambda url: run_codex(url, tmp_path_factory.mktemp("codex-home-proxied"), work), "/v1/responses")


def test_the_loop_runs_both_commands(direct: Run) -> None:
    assert direct.returncode == 0, direct.stderr[-2000:]
    commands = direct.commands()
    assert len(commands) == 2 and all(code == 0 and status == "completed" for _, _, code, status in commands)
    assert '"email": "user149@example.com"' in commands[0][1] and "payment.capture failed" in commands[1][1]
    assert direct.final_text() == FINAL_TEXT


def test_client_side_results_are_identical_through_the_proxy(direct: Run, proxied: Run) -> None:
    assert proxied.returncode == 0, proxied.stderr[-2000:]
    assert proxied.commands() == direct.commands()
    assert proxied.final_text() == direct.final_text()
    assert [i["type"] for i in proxied.items("agent_message")] == [i["type"] for i in direct.items("agent_message")]


def test_everything_but_tool_output_reaches_the_upstream_unchanged(proxied: Run) -> None:
    assert len(proxied.sent) == len(proxied.upstream) == 3
    for sent, upstream in zip(proxied.sent, proxied.upstream):
        added = [key for key in upstream if key not in sent]
        assert [key for key in upstream if key in sent] == list(sent) and added in ([], ["tools"])
        for key in sent:
            if key not in ("input", "tools"):
                assert dumps(upstream[key]) == dumps(sent[key]), key  # instructions, reasoning, include, ...
        assert_tools_kept(sent.get("tools", []), upstream.get("tools", []))
        assert len(upstream["input"]) == len(sent["input"])
        for before, after in zip(sent["input"], upstream["input"]):
            if before.get("type") == "function_call_output":
                assert {k: v for k, v in after.items() if k != "output"} == {k: v for k, v in before.items() if k != "output"}
            else:  # developer/user messages, reasoning with encrypted_content, function_call
                assert dumps(after) == dumps(before)
    reasoning = [i for i in proxied.upstream[-1]["input"] if i.get("type") == "reasoning"]
    assert reasoning and all(i.get("encrypted_content") for i in reasoning)


def outputs(body: dict[str, Any]) -> list[str]:
    found = []
    for item in body["input"]:
        if item.get("type") == "function_call_output":
            output = item["output"]
            found.append(output if isinstance(output, str) else dumps(output))
    return found


def test_the_upstream_sees_the_log_compressed(proxied: Run) -> None:
    sent, seen = outputs(proxied.sent[-1]), outputs(proxied.upstream[-1])
    assert len(sent) == len(seen) == 2
    assert "payment.capture failed" in sent[1] and "[[headroom" in seen[1], seen[1][:300]
    assert "payment.capture failed" in seen[1] and len(seen[1]) < len(sent[1]) / 2


def test_the_upstream_sees_the_big_json_compressed(proxied: Run) -> None:
    sent, seen = outputs(proxied.sent[-1]), outputs(proxied.upstream[-1])
    assert '"email": "user149@example.com"' in sent[0]
    assert "[[headroom" in seen[0] and len(seen[0]) < len(sent[0]) / 2, seen[0][:300]


def test_each_tool_output_goes_upstream_the_same_in_every_later_turn(proxied: Run) -> None:
    # invariant 2: compressed on first sight, then resent byte for byte, so the prefix cache holds.
    for earlier, later in zip(proxied.upstream, proxied.upstream[1:]):
        before = outputs(earlier)
        assert outputs(later)[: len(before)] == before
