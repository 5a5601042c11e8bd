"""Claude Code (the real `claude -p`) through the proxy while the model asks for what was elided.

Bash prints a big pretty JSON, the proxy compresses it to a table with a marker, and the fake
upstream then calls `headroom_retrieve` with the marker's id (`[[fake:retrieve]]`). The proxy
answers that call itself and continues upstream, so Claude Code never sees the tool (issue 6).

"Exactly the response a direct upstream would give for the continuation" means, for a client
that streams (Claude Code always does):

- the client's last assistant message is the hidden round's visible blocks (its thinking, which
  had already streamed) followed by the content the upstream gives, byte for byte, when the
  continuation request the proxy sent is replayed to it directly; the stop reason is the
  continuation's, and the message id is the first round's (one message_start);
- the run, seen from the client, is the run of the same script without the retrieve turn: the
  same tool calls and results, the same final text, the same `num_turns`.

Mixed with a client tool in one turn, the retrieve call is dropped and Claude Code runs its own
tool and completes the loop, as it does straight at the fake when that turn holds only its tool.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from headroom_core import MARKER_PATTERN, RETRIEVE_TOOL_NAME
from tests.clients.clients import CLAUDE, RETRIEVAL_FINAL_TEXT, dumps, missing, retrieval_runs
from tests.clients.test_claude_code import Run, result_text, run_claude
from tests.support.fake_upstream import running_fake_upstream

pytestmark = [
    pytest.mark.skipif(missing(CLAUDE) is not None, reason=str(missing(CLAUDE))),
    pytest.mark.timeout(120),
]

FINAL_TEXT = RETRIEVAL_FINAL_TEXT
CAT = {"command": "cat users.json", "description": "Print the user export"}
ECHO = {"command": "echo checked", "description": "Say the export is checked"}
PATH = "/v1/messages"


def launcher(work: Path, home: Path, text: str) -> Any:
    return functools.partial(run_claude, home=home, work=work, script=text, tools=("Bash",), timeout_s=50)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """Each script once: with retrieve through the proxy, without it straight at the fake."""
    return retrieval_runs(Run, launcher, PATH, "Bash", CAT, ECHO, tmp_path_factory)


def messages(run: Run) -> list[dict[str, Any]]:
    """Claude Code's assistant messages as it received them: the blocks of each message id, in order."""
    out: dict[str, dict[str, Any]] = {}
    for event in run.events:
        if event.get("type") == "assistant":
            message = event["message"]
            seen = out.setdefault(message["id"], {**message, "content": []})
            seen["content"] += message["content"]
            seen["stop_reason"] = message.get("stop_reason") or seen.get("stop_reason")
    return list(out.values())


def replayed(raw: bytes) -> dict[str, Any]:
    """The message a direct upstream streams for the request body `raw`, put together from its events."""
    with running_fake_upstream() as fake:
        response = httpx.post(fake.url + PATH, content=raw, headers={"x-api-key": "dummy", "anthropic-version": "2023-06-01"})
    message: dict[str, Any] = {}
    partial: dict[int, str] = {}
    for line in response.text.splitlines():
        if not line.startswith("data: "):
            continue
        event = json.loads(line[6:])
        if event["type"] == "message_start":
            message = event["message"]
        elif event["type"] == "content_block_start":
            message["content"].append(event["content_block"])
        elif event["type"] == "content_block_delta":
            block, delta = message["content"][event["index"]], event["delta"]
            for field in ("text", "thinking", "signature"):
                if field in delta:
                    block[field] += delta[field]
            partial[event["index"]] = partial.get(event["index"], "") + delta.get("partial_json", "")
        elif event["type"] == "content_block_stop" and partial.get(event["index"]):
            message["content"][event["index"]]["input"] = json.loads(partial[event["index"]])
        elif event["type"] == "message_delta":
            message.update(event["delta"])
            message["usage"].update(event["usage"])
    return message


def retrieve_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The tool results in `body` that answer a headroom_retrieve call."""
    calls = {b["id"] for m in body["messages"] if m["role"] == "assistant" and isinstance(m["content"], list) for b in m["content"] if b.get("type") == "tool_use" and b["name"] == RETRIEVE_TOOL_NAME}
    return [b for m in body["messages"] if isinstance(m["content"], list) for b in m["content"] if b.get("type") == "tool_result" and b["tool_use_id"] in calls]


def mentions_retrieve(run: Run) -> bool:
    return RETRIEVE_TOOL_NAME in "".join(json.dumps(e) for e in run.events)


# --------------------------------------------------------------------------- retrieve alone


def test_the_client_never_sees_the_retrieve_tool(runs: dict[str, Run]) -> None:
    run = runs["alone"]
    assert run.returncode == 0, run.stderr[-2000:]
    assert not mentions_retrieve(run)
    assert [name for name, _ in run.tool_calls()] == ["Bash"]
    assert all(RETRIEVE_TOOL_NAME not in dumps(body.get("tools")) for body in run.sent)


def test_the_run_is_the_direct_run_of_the_script_without_the_retrieve_turn(runs: dict[str, Run]) -> None:
    run, direct = runs["alone"], runs["alone-direct"]
    assert direct.returncode == 0, direct.stderr[-2000:]
    for key in ("result", "num_turns", "is_error", "subtype"):
        assert run.result[key] == direct.result[key], key
    assert run.result["result"] == FINAL_TEXT and run.result["num_turns"] == 2
    assert run.tool_calls() == direct.tool_calls()
    assert run.tool_outcomes() == direct.tool_outcomes()
    assert len(run.sent) == 2 and len(run.upstream) == 3  # one hidden round


def test_the_last_message_is_the_upstreams_answer_to_the_continuation(runs: dict[str, Run]) -> None:
    run = runs["alone"]
    first, continuation = run.upstream[1], run.upstream[2]
    hidden_round, expected = replayed(run.upstream_raw[1]), replayed(run.upstream_raw[2])
    # The proxy's continuation replays the hidden round as the upstream wrote it.
    assert dumps(continuation["messages"][len(first["messages"])]["content"]) == dumps(hidden_round["content"])
    assert [b["type"] for b in hidden_round["content"]] == ["thinking", "tool_use"]
    last = messages(run)[-1]
    assert dumps(last["content"]) == dumps(hidden_round["content"][:1] + expected["content"])
    assert [b["type"] for b in expected["content"]] == ["thinking", "text"] and expected["content"][-1]["text"] == FINAL_TEXT
    assert run.result["stop_reason"] == expected["stop_reason"] == "end_turn"
    assert last["id"] == hidden_round["id"]  # one message_start: the first round's


def test_usage_is_summed_over_the_hidden_rounds(runs: dict[str, Run]) -> None:
    run = runs["alone"]
    usages = [replayed(raw)["usage"] for raw in run.upstream_raw]
    for key in ("input_tokens", "output_tokens"):
        assert run.result["usage"][key] == sum(u[key] for u in usages), key


def test_the_upstream_gets_the_original_bash_output_in_the_retrieve_result(runs: dict[str, Run]) -> None:
    run = runs["alone"]
    sent_output = result_text(next(b for m in run.sent[1]["messages"] if isinstance(m["content"], list) for b in m["content"] if b.get("type") == "tool_result"))
    seen_output = result_text(next(b for m in run.upstream[1]["messages"] if isinstance(m["content"], list) for b in m["content"] if b.get("type") == "tool_result"))
    marker = MARKER_PATTERN.search(seen_output)
    assert marker is not None and marker.group("id") and len(seen_output) < len(sent_output) / 2
    assert '"email": "user149@example.com"' in sent_output
    call = next(b for b in run.upstream[2]["messages"][-2]["content"] if b.get("type") == "tool_use")
    assert (call["name"], call["input"]) == (RETRIEVE_TOOL_NAME, {"id": marker.group("id")})
    (answer,) = retrieve_results(run.upstream[2])
    assert answer.get("is_error") is None
    assert result_text(answer) == sent_output  # byte-identical to what Claude Code sent as the Bash result


# --------------------------------------------------------------------------- retrieve mixed with Bash


def test_mixed_turn_runs_the_clients_own_tool_and_completes(runs: dict[str, Run]) -> None:
    run, direct = runs["mixed"], runs["mixed-direct"]
    assert run.returncode == 0, run.stderr[-2000:]
    assert direct.returncode == 0, direct.stderr[-2000:]
    assert not mentions_retrieve(run)
    for key in ("result", "num_turns", "is_error", "subtype"):
        assert run.result[key] == direct.result[key], key
    assert run.result["result"] == FINAL_TEXT and run.result["num_turns"] == 3
    assert run.tool_calls() == direct.tool_calls() == [("Bash", dumps(CAT)), ("Bash", dumps(ECHO))]
    assert run.tool_outcomes() == direct.tool_outcomes()
    assert run.tool_outcomes()[1] == ("checked", False)


def test_mixed_turn_leaves_no_dangling_tool_use_upstream(runs: dict[str, Run]) -> None:
    run = runs["mixed"]
    assert len(run.sent) == len(run.upstream) == 3  # the retrieve call was dropped, not answered
    for body in run.upstream:
        calls = [b["id"] for m in body["messages"] if m["role"] == "assistant" and isinstance(m["content"], list) for b in m["content"] if b.get("type") == "tool_use"]
        results = [b["tool_use_id"] for m in body["messages"] if isinstance(m["content"], list) for b in m["content"] if b.get("type") == "tool_result"]
        assert calls == results
        assert not retrieve_results(body)
