"""Codex CLI (the real `codex exec`, a custom provider over HTTP + SSE, `wire_api = "responses"`)
through the proxy while the model asks for what was elided (issue 6).

`exec_command` prints a big pretty JSON, the proxy compresses it with a marker, and the fake
upstream calls `headroom_retrieve` with the marker's id (`[[fake:retrieve]]`); the proxy answers
and continues upstream. As in test_claude_code_retrieval.py, the run seen from Codex is the run of
the same script without the retrieve turn, and the turn's last items are the hidden round's
visible items (its reasoning) followed by what a direct upstream answers to the continuation.
Codex sends `store: false`, so every turn carries the whole history and the proxy links nothing.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from headroom_core import MARKER_PATTERN, RETRIEVE_TOOL_NAME
from tests.clients.clients import CODEX, RETRIEVAL_FINAL_TEXT, big_pretty_json, dumps, missing, retrieval_runs
from tests.clients.test_codex import Run, outputs, run_codex
from tests.support.fake_upstream import running_fake_upstream

pytestmark = [
    pytest.mark.skipif(missing(CODEX) is not None, reason=str(missing(CODEX))),
    pytest.mark.timeout(120),
]

FINAL_TEXT = RETRIEVAL_FINAL_TEXT
CAT = {"cmd": "cat users.json", "max_output_tokens": 20000}
ECHO = {"cmd": "echo checked"}
PATH = "/v1/responses"


def launcher(work: Path, home: Path, text: str) -> Any:
    return functools.partial(run_codex, home=home, work=work, prompt=text, timeout_s=50)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """Each script once: with retrieve through the proxy, without it straight at the fake."""
    return retrieval_runs(Run, launcher, PATH, "exec_command", CAT, ECHO, tmp_path_factory)


def replayed(raw: bytes) -> dict[str, Any]:
    """The response object a direct upstream streams for the request body `raw`."""
    with running_fake_upstream() as fake:
        response = httpx.post(fake.url + PATH, content=raw, headers={"authorization": "Bearer dummy"})
    events = [json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: ")]
    return next(e["response"] for e in events if e["type"] == "response.completed")  # type: ignore[no-any-return]


def visible(output: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(Codex's item type, its text) for the reasoning and messages of a response's output."""
    out = []
    for item in output:
        if item["type"] == "reasoning":
            out.append(("reasoning", "".join(part["text"] for part in item["summary"])))
        elif item["type"] == "message":
            out.append(("agent_message", "".join(part["text"] for part in item["content"])))
    return out


def last_turn(run: Run) -> list[tuple[str, str]]:
    """(type, text) of the items Codex showed after its last command."""
    items = [e["item"] for e in run.events if e.get("type") == "item.completed"]
    last_command = max(i for i, item in enumerate(items) if item["type"] == "command_execution")
    return [(item["type"], item["text"]) for item in items[last_command + 1 :]]


def mentions_retrieve(run: Run) -> bool:
    return RETRIEVE_TOOL_NAME in "".join(json.dumps(e) for e in run.events)


# --------------------------------------------------------------------------- retrieve alone


def test_the_client_never_sees_the_retrieve_tool(runs: dict[str, Run]) -> None:
    run = runs["alone"]
    assert run.returncode == 0, run.stderr[-2000:]
    assert not mentions_retrieve(run)
    assert all(RETRIEVE_TOOL_NAME not in dumps(body) for body in run.sent)


def test_the_run_is_the_direct_run_of_the_script_without_the_retrieve_turn(runs: dict[str, Run]) -> None:
    run, direct = runs["alone"], runs["alone-direct"]
    assert direct.returncode == 0, direct.stderr[-2000:]
    assert run.commands() == direct.commands() and len(run.commands()) == 1
    assert run.final_text() == direct.final_text() == FINAL_TEXT
    assert len(run.sent) == 2 and len(run.upstream) == 3  # one hidden round
    assert run.sent[0]["store"] is False


def test_the_last_items_are_the_upstreams_answer_to_the_continuation(runs: dict[str, Run]) -> None:
    run = runs["alone"]
    hidden_round, expected = replayed(run.upstream_raw[1]), replayed(run.upstream_raw[2])
    assert [i["type"] for i in hidden_round["output"]] == ["reasoning", "function_call"]
    # The proxy's continuation replays the hidden round's items as the upstream wrote them.
    appended = run.upstream[2]["input"][len(run.upstream[1]["input"]) :]
    assert dumps(appended[:2]) == dumps(hidden_round["output"])
    assert last_turn(run) == visible(hidden_round["output"]) + visible(expected["output"])
    assert visible(expected["output"])[-1] == ("agent_message", FINAL_TEXT)


def test_usage_is_summed_over_the_hidden_rounds(runs: dict[str, Run]) -> None:
    run = runs["alone"]
    usages = [replayed(raw)["usage"] for raw in run.upstream_raw]
    turn = next(e for e in run.events if e.get("type") == "turn.completed")["usage"]
    for key in ("input_tokens", "output_tokens"):
        assert turn[key] == sum(u[key] for u in usages), key


def test_the_upstream_gets_the_original_output_in_the_retrieve_result(runs: dict[str, Run]) -> None:
    run = runs["alone"]
    (sent_output,) = outputs(run.sent[1])
    (seen_output,) = outputs(run.upstream[1])
    marker = MARKER_PATTERN.search(seen_output)
    assert marker is not None and marker.group("id") and len(seen_output) < len(sent_output) / 2
    call, answer = run.upstream[2]["input"][-2:]
    assert (call["type"], call["name"], json.loads(call["arguments"])) == ("function_call", RETRIEVE_TOOL_NAME, {"id": marker.group("id")})
    assert (answer["type"], answer["call_id"]) == ("function_call_output", call["call_id"])
    # Codex puts a header before the command's output; what was elided, and comes back, is the
    # command's output: the file, byte for byte.
    original = answer["output"]
    assert original == big_pretty_json() + "\n"  # users.json as the work dir holds it
    header = sent_output[: sent_output.index(original)]
    assert sent_output == header + original  # byte-identical to the tail of what Codex sent
    assert header.endswith("Output:\n") and seen_output.startswith(header)


# --------------------------------------------------------------------------- retrieve mixed with a command


def test_mixed_turn_runs_the_clients_own_command_and_completes(runs: dict[str, Run]) -> None:
    run, direct = runs["mixed"], runs["mixed-direct"]
    assert run.returncode == 0, run.stderr[-2000:]
    assert direct.returncode == 0, direct.stderr[-2000:]
    assert not mentions_retrieve(run)
    assert run.commands() == direct.commands()
    assert run.commands()[1][:3] == ("/bin/bash -lc 'echo checked'", "checked\n", 0)
    assert run.final_text() == direct.final_text() == FINAL_TEXT
    assert last_turn(run) == last_turn(direct)


def test_mixed_turn_gives_codex_the_round_without_the_retrieve_call(runs: dict[str, Run]) -> None:
    run = runs["mixed"]
    assert len(run.sent) == len(run.upstream) == 3  # the retrieve call was dropped, not answered
    round_output = replayed(run.upstream_raw[1])["output"]
    kept = [item for item in round_output if item.get("name") != RETRIEVE_TOOL_NAME]
    assert len(kept) == len(round_output) - 1
    echoed = run.sent[2]["input"][len(run.sent[1]["input"]) :][: len(kept)]
    for got, item in zip(echoed, kept, strict=True):  # Codex sends back what it received
        assert {k: got.get(k) for k in item} == item
    for body in run.upstream:
        calls = [i["call_id"] for i in body["input"] if i.get("type") == "function_call"]
        answered = [i["call_id"] for i in body["input"] if i.get("type") == "function_call_output"]
        assert calls == answered
