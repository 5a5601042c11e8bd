"""Claude Code (the real `claude -p`) in a multi-turn tool loop, directly and through the proxy.

The fake upstream scripts the loop: it asks Claude Code to Read a source file, run Bash that
prints a big pretty JSON, and Grep; Claude Code really runs each tool and sends the result back,
then the fake answers with a final text. The same prompt runs twice, once straight at the fake
and once through the proxy (with a recorder in front of it, so each test can compare what the
client sent with what reached the upstream).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.clients.clients import (
    CLAUDE,
    ClientRun,
    assert_tools_kept,
    big_pretty_json,
    copy_stdlib_module,
    directive,
    dumps,
    missing,
)

pytestmark = [
    pytest.mark.skipif(missing(CLAUDE) is not None, reason=str(missing(CLAUDE))),
    pytest.mark.timeout(300),
]

FINAL_TEXT = "textwrap_copy.py wraps text; 150 users exported, 22 of them inactive."
TOOLS = ("Read", "Bash", "Grep")


class Run(ClientRun):
    """One `claude -p` run: its stream-json events, the requests the client sent (through the
    proxy only) and the requests the upstream received."""

    @property
    def result(self) -> dict[str, Any]:
        return next(e for e in reversed(self.events) if e.get("type") == "result")

    def tool_calls(self) -> list[tuple[str, str]]:
        """(tool name, input) of every tool call, in order."""
        return [
            (block["name"], dumps(block["input"]))
            for event in self.events
            if event.get("type") == "assistant"
            for block in event["message"]["content"]
            if block.get("type") == "tool_use"
        ]

    def tool_outcomes(self) -> list[tuple[str, bool]]:
        """(result text, is_error) of every tool result Claude Code produced, in order."""
        return [
            (result_text(block), bool(block.get("is_error")))
            for event in self.events
            if event.get("type") == "user" and isinstance(event["message"].get("content"), list)
            for block in event["message"]["content"]
            if block.get("type") == "tool_result"
        ]


def result_text(block: dict[str, Any]) -> str:
    content = block.get("content")
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content or () if isinstance(part, dict))


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One project directory both runs work in, so their tool outputs can be equal."""
    work = tmp_path_factory.mktemp("cc-work")
    copy_stdlib_module("textwrap.py", work / "src" / "textwrap_copy.py")
    (work / "users.json").write_text(big_pretty_json() + "\n", encoding="utf-8")
    return work


def prompt(work: Path) -> str:
    return " ".join(
        [
            "How does this project wrap text, and how many users are inactive?",
            directive("Read", {"file_path": str(work / "src" / "textwrap_copy.py")}),
            directive("Bash", {"command": "cat users.json", "description": "Print the user export"}),
            directive("Grep", {"pattern": "def ", "path": str(work / "src"), "output_mode": "content", "-n": True}),
            f"[[fake:text {FINAL_TEXT}]]",
        ]
    )


def run_claude(
    base_url: str, home: Path, work: Path, script: str | None = None, tools: tuple[str, ...] = TOOLS, timeout_s: float = 180
) -> subprocess.CompletedProcess[str]:
    """`claude -p SCRIPT` in `work` against `base_url` (the default script is this module's loop)."""
    home.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_API_KEY": "dummy",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "CLAUDE_CODE_MAX_RETRIES": "1",
    }
    text = prompt(work) if script is None else script
    args = [str(CLAUDE), "-p", text, "--output-format", "stream-json", "--verbose", "--allowedTools", ",".join(tools)]
    return subprocess.run(args, check=False, cwd=work, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout_s)


@pytest.fixture(scope="module")
def direct(work: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    return Run.direct(lambda url: run_claude(url, tmp_path_factory.mktemp("cc-home-direct"), work), "/v1/messages")


@pytest.fixture(scope="module")
def proxied(work: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    return Run.proxied(lambda url: run_claude(url, tmp_path_factory.mktemp("cc-home-proxied"), work), "/v1/messages")


def test_the_loop_runs_every_tool(direct: Run) -> None:
    assert direct.returncode == 0, direct.stderr[-2000:]
    assert [name for name, _ in direct.tool_calls()] == list(TOOLS)
    assert direct.result["result"] == FINAL_TEXT and direct.result["num_turns"] == 4
    outcomes = direct.tool_outcomes()
    assert [is_error for _, is_error in outcomes] == [False, False, False]
    assert "def wrap(" in outcomes[0][0] and '"user": "user149"' in outcomes[1][0] and "textwrap_copy.py" in outcomes[2][0]


def test_client_side_results_are_identical_through_the_proxy(direct: Run, proxied: Run) -> None:
    assert proxied.returncode == 0, proxied.stderr[-2000:]
    for key in ("result", "num_turns", "is_error", "subtype"):
        assert proxied.result[key] == direct.result[key], key
    assert proxied.tool_calls() == direct.tool_calls()
    assert proxied.tool_outcomes() == direct.tool_outcomes()


def test_everything_but_tool_results_reaches_the_upstream_unchanged(proxied: Run) -> None:
    assert len(proxied.sent) == len(proxied.upstream) == 4
    for sent, upstream in zip(proxied.sent, proxied.upstream):
        assert list(upstream) == list(sent)
        for key in sent:
            if key not in ("messages", "tools"):
                assert dumps(upstream[key]) == dumps(sent[key]), key
        assert_tools_kept(sent["tools"], upstream["tools"])
        assert len(upstream["messages"]) == len(sent["messages"])
        for before, after in zip(sent["messages"], upstream["messages"]):
            assert list(after) == list(before) and after["role"] == before["role"]
            if not isinstance(before["content"], list):
                assert after["content"] == before["content"]  # typed text and the role=system message
                continue
            assert len(after["content"]) == len(before["content"])
            for block, out in zip(before["content"], after["content"]):
                if block.get("type") == "tool_result":
                    assert {k: v for k, v in out.items() if k != "content"} == {k: v for k, v in block.items() if k != "content"}
                else:  # thinking with its signature, tool_use, text: byte-identical
                    assert dumps(out) == dumps(block)
    thinking = [b for m in proxied.upstream[-1]["messages"] if m["role"] == "assistant" for b in m["content"] if b["type"] == "thinking"]
    assert len(thinking) == 3 and all(b["signature"] for b in thinking)


def tool_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for m in body["messages"] if isinstance(m["content"], list) for b in m["content"] if b.get("type") == "tool_result"]


def test_the_upstream_sees_compressed_tool_results(proxied: Run) -> None:
    sent = [result_text(b) for b in tool_results(proxied.sent[-1])]
    seen = [result_text(b) for b in tool_results(proxied.upstream[-1])]
    assert '"email": "user149@example.com"' in sent[1]
    big_json = seen[1]
    assert big_json.startswith("[[headroom") or "[[headroom:" in big_json, big_json[:300]
    assert len(big_json) < len(sent[1]) / 2
    assert sum(map(len, seen)) < sum(map(len, sent))


def test_each_tool_result_goes_upstream_the_same_in_every_later_turn(proxied: Run) -> None:
    # invariant 2: compressed on first sight, then resent byte for byte, so the prefix cache holds.
    for earlier, later in zip(proxied.upstream, proxied.upstream[1:]):
        before = [dumps(b["content"]) for b in tool_results(earlier)]
        after = [dumps(b["content"]) for b in tool_results(later)]
        assert after[: len(before)] == before
