"""Every documented flag of `headroom proxy` changes behaviour, and its environment variable does
the same (a flag beats its variable).

Flags the uvicorn server itself applies (--host, --port, --workers, --limit-concurrency) are tested
on a real `headroom proxy` subprocess. The others are parsed by the real command into the
`Settings` it would serve (`settings_from`), and that proxy runs in-process on loopback in front of
the scripted fake upstream, so each test observes the effect where it shows: at the upstream, in
the response, on disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from headroom_cli.proxy_cmd import proxy_cmd, settings_from
from headroom_core import RETRIEVE_TOOL_NAME
from headroom_proxy import Settings, SettingsError, create_app
from tests.proxy.servers import serve
from tests.support.fake_upstream import (
    FAKE_AWS_ACCESS_KEY_ID,
    FAKE_AWS_SECRET_ACCESS_KEY,
    RunningFakeUpstream,
    running_fake_upstream,
)

pytestmark = pytest.mark.timeout(120)

# The seed's core and context-management tables, plus the upstream URLs (issue 5).
DOCUMENTED_FLAGS = {
    "--host": "test_host_and_port_bind_there",
    "--port": "test_host_and_port_bind_there",
    "--workers": "test_workers_runs_that_many_worker_processes",
    "--limit-concurrency": "test_limit_concurrency_answers_503_beyond_it",
    "--max-connections": "test_max_connections_bounds_upstream_connections",
    "--max-keepalive": "test_max_keepalive_bounds_idle_upstream_connections",
    "--no-optimize": "test_no_optimize_forwards_the_original_bytes",
    "--log-file": "test_log_file_writes_one_json_line_per_request",
    "--stateless": "test_stateless_writes_nothing_under_headroom_home",
    "--mode": "test_mode_cache_leaves_earlier_turns_untouched",
    "--target-ratio": "test_target_ratio_changes_how_much_prose_is_kept",
    "--intercept-tool-results": "test_intercept_tool_results_outlines_the_first_read",
    "--no-read-lifecycle": "test_no_read_lifecycle_keeps_stale_reads",
    "--code-aware": "test_code_aware_outlines_source",
    "--no-code-aware": "test_code_aware_outlines_source",
    "--lossless": "test_lossless_leaves_no_markers",
    "--no-ccr-inject-tool": "test_no_ccr_inject_tool_keeps_the_tools_list",
    "--protect-tool-results": "test_protect_tool_results_keeps_a_tool_lossless",
    "--anthropic-api-url": "test_upstream_urls_route_each_provider",
    "--openai-api-url": "test_upstream_urls_route_each_provider",
    "--gemini-api-url": "test_upstream_urls_route_each_provider",
    "--backend": "test_backend_bedrock_signs_and_routes_to_bedrock",
    "--bedrock-api-url": "test_backend_bedrock_signs_and_routes_to_bedrock",
    "--region": "test_backend_bedrock_signs_and_routes_to_bedrock",
}

QUESTION = "Which users are inactive, and how does billing handle failed payments?"


# --------------------------------------------------------------------------- inputs


def users_json(rows: int = 150) -> str:
    records = [
        {"id": i, "user": f"user{i:03d}", "email": f"user{i:03d}@example.com", "active": i % 7 != 0, "plan": ["free", "pro", "team"][i % 3]}
        for i in range(rows)
    ]
    return json.dumps(records, indent=2)


def prose() -> str:
    """Wrapped English paragraphs: what a web page or a README reads like to the prose compressor."""
    subjects = ["The scheduler", "Our billing service", "The cache layer", "Each worker", "The audit team", "The database", "A retry policy", "The load balancer", "The gateway", "Support staff", "The nightly job"]
    verbs = ["records every request it receives", "keeps a copy of recent invoices", "rejects writes when the disk is full", "reports latency to the dashboard", "reviews failed payments each morning", "rotates its credentials every week", "waits longer after each failure", "sends traffic to healthy nodes only", "compacts old logs"]
    tails = ["before the nightly report runs.", "so that operators can trace problems.", "and nobody has to restart it by hand.", "which keeps the error budget intact.", "unless an engineer overrides it.", "during the quiet hours.", "as the runbook describes."]
    sentences = [f"{subjects[i % 11]} {verbs[(i * 4) % 9]} {tails[(i * 5) % 7]}" for i in range(80)]
    return "\n\n".join(textwrap.fill(" ".join(sentences[i : i + 8]), 78) for i in range(0, 80, 8))


def source_file() -> str:
    """Real Python code: a stdlib module."""
    return Path(textwrap.__file__).read_text(encoding="utf-8")


def numbered(text: str) -> str:
    """A file as Claude Code's Read tool returns it: right-aligned line numbers and a tab."""
    return "\n".join(f"{n:>6}\t{line}" for n, line in enumerate(text.split("\n"), start=1))


def tool_turn(i: int, name: str, arguments: dict[str, Any], result: str) -> list[dict[str, Any]]:
    return [
        {"role": "assistant", "content": [{"type": "text", "text": "Let me look."}, {"type": "tool_use", "id": f"toolu_{i:02d}", "name": name, "input": arguments}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"toolu_{i:02d}", "content": result}]},
    ]


def anthropic_body(*turns: list[dict[str, Any]]) -> dict[str, Any]:
    messages: list[dict[str, Any]] = [{"role": "user", "content": QUESTION}]
    for turn in turns:
        messages += turn
    tools = [{"name": n, "description": f"The {n} tool.", "input_schema": {"type": "object"}} for n in ("Bash", "Read", "Edit", "WebFetch")]
    return {"model": "claude-test", "max_tokens": 256, "system": "You are terse.", "tools": tools, "messages": messages}


def bash_users() -> list[dict[str, Any]]:
    return tool_turn(1, "Bash", {"command": "cat users.json"}, users_json())


def results(body: dict[str, Any]) -> list[str]:
    """The text of every tool_result of an Anthropic body, in order."""
    return [b["content"] for m in body["messages"] if isinstance(m["content"], list) for b in m["content"] if b.get("type") == "tool_result"]


# --------------------------------------------------------------------------- running the proxy


def settings_for(*args: str, env: Mapping[str, str] | None = None) -> Settings:
    """The Settings `headroom proxy ARGS` would serve with environment `env` (only)."""
    context = proxy_cmd.make_context("proxy", list(args))
    return settings_from(context.params, Settings.from_env(dict(env or {})))


@pytest.fixture()
def home(tmp_path: Path) -> dict[str, str]:
    """HEADROOM_HOME inside the test's directory, so no test writes to the real ~/.headroom."""
    return {"HEADROOM_HOME": str(tmp_path / "headroom-home")}


@contextlib.contextmanager
def proxy(fake: RunningFakeUpstream, *args: str, env: Mapping[str, str]) -> Iterator[str]:
    """The proxy `headroom proxy --anthropic-api-url FAKE ... ARGS` would serve, on loopback."""
    urls = ("--anthropic-api-url", fake.url, "--openai-api-url", fake.url, "--gemini-api-url", fake.url)
    with serve(create_app(settings_for(*urls, *args, env=env))) as url:
        yield url


def through(fake: RunningFakeUpstream, body: dict[str, Any], *args: str, env: Mapping[str, str]) -> tuple[httpx.Response, bytes, Any]:
    """Send `body` through a proxy started with ARGS; return the response and what the upstream got."""
    raw = json.dumps(body).encode()
    with proxy(fake, *args, env=env) as url:
        response = httpx.post(f"{url}/v1/messages", content=raw, headers={"x-api-key": "dummy", "content-type": "application/json"}, timeout=30)
    seen = fake.requests[-1]
    assert seen.path == "/v1/messages" and response.status_code == 200, response.text
    return response, seen.body, seen.json


# --------------------------------------------------------------------------- a real `headroom proxy`


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def headroom_proxy(tmp_path: Path, *args: str, env: Mapping[str, str] | None = None, host: str = "127.0.0.1", port: int) -> Iterator[subprocess.Popen[bytes]]:
    """`headroom proxy ARGS` as a subprocess, once it answers /livez on host:port."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HEADROOM_") and not k.endswith("_TARGET_API_URL")}
    clean.update(HEADROOM_HOME=str(tmp_path / "headroom-home"), **(env or {}))
    log = tmp_path / f"proxy-{port}.stderr"
    with open(log, "wb") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "headroom_cli", "proxy", *args], env=clean, stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise AssertionError(f"headroom proxy exited {process.returncode}: {log.read_text()[-2000:]}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"http://{host}:{port}/livez", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise AssertionError(f"headroom proxy did not answer on {host}:{port}: {log.read_text()[-2000:]}")
            time.sleep(0.05)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def is_listening(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def children(pid: int) -> list[str]:
    """The command lines of the direct child processes of `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
                found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
    return found


# --------------------------------------------------------------------------- the flag list itself


def test_every_documented_flag_has_a_behaviour_test() -> None:
    options = {name for param in proxy_cmd.params for name in (*param.opts, *param.secondary_opts)}
    options.discard("--help")
    assert options == set(DOCUMENTED_FLAGS)
    assert all(callable(globals().get(test)) for test in DOCUMENTED_FLAGS.values())


# --------------------------------------------------------------------------- env vars and precedence

FLAG_AND_ENV = [
    (("--host", "127.0.0.2"), {"HEADROOM_HOST": "127.0.0.2"}),
    (("--port", "9123"), {"HEADROOM_PORT": "9123"}),
    (("--workers", "3"), {"HEADROOM_WORKERS": "3"}),
    (("--limit-concurrency", "7"), {"HEADROOM_LIMIT_CONCURRENCY": "7"}),
    (("--max-connections", "9"), {"HEADROOM_MAX_CONNECTIONS": "9"}),
    (("--max-keepalive", "0"), {"HEADROOM_MAX_KEEPALIVE": "0"}),
    (("--no-optimize",), {"HEADROOM_NO_OPTIMIZE": "1"}),
    (("--log-file", "/tmp/x.jsonl"), {"HEADROOM_LOG_FILE": "/tmp/x.jsonl"}),
    (("--stateless",), {"HEADROOM_STATELESS": "1"}),
    (("--mode", "cache"), {"HEADROOM_MODE": "cache"}),
    (("--target-ratio", "0.3"), {"HEADROOM_TARGET_RATIO": "0.3"}),
    (("--intercept-tool-results",), {"HEADROOM_INTERCEPT_TOOL_RESULTS": "1"}),
    (("--no-read-lifecycle",), {"HEADROOM_NO_READ_LIFECYCLE": "1"}),
    (("--code-aware",), {"HEADROOM_CODE_AWARE_ENABLED": "1"}),
    (("--lossless",), {"HEADROOM_LOSSLESS": "true"}),
    (("--no-ccr-inject-tool",), {"HEADROOM_NO_CCR_INJECT_TOOL": "1"}),
    (("--protect-tool-results", "Bash,Read"), {"HEADROOM_PROTECT_TOOL_RESULTS": "Read, Bash"}),
    (("--anthropic-api-url", "http://127.0.0.1:1"), {"ANTHROPIC_TARGET_API_URL": "http://127.0.0.1:1"}),
    (("--openai-api-url", "http://127.0.0.1:2/v1"), {"OPENAI_TARGET_API_URL": "http://127.0.0.1:2/v1"}),
    (("--gemini-api-url", "http://127.0.0.1:3"), {"GEMINI_TARGET_API_URL": "http://127.0.0.1:3"}),
]


@pytest.mark.parametrize(("flag", "env"), FLAG_AND_ENV, ids=[f[0] for f, _ in FLAG_AND_ENV])
def test_the_env_var_does_what_the_flag_does(flag: tuple[str, ...], env: dict[str, str]) -> None:
    by_flag = settings_for(*flag, env={"HEADROOM_HOME": "/h"})
    assert by_flag != settings_for(env={"HEADROOM_HOME": "/h"})
    assert settings_for(env={"HEADROOM_HOME": "/h", **env}) == by_flag


BEATS = [
    (("--port", "9200"), {"HEADROOM_PORT": "9300"}),
    (("--host", "127.0.0.3"), {"HEADROOM_HOST": "127.0.0.4"}),
    (("--mode", "token"), {"HEADROOM_MODE": "cache"}),
    (("--no-code-aware",), {"HEADROOM_CODE_AWARE_ENABLED": "1"}),
    (("--target-ratio", "0.6"), {"HEADROOM_TARGET_RATIO": "0.2"}),
    (("--protect-tool-results", "Grep"), {"HEADROOM_PROTECT_TOOL_RESULTS": "Bash"}),
    (("--log-file", "/tmp/a.jsonl"), {"HEADROOM_LOG_FILE": "/tmp/b.jsonl"}),
    (("--max-connections", "4"), {"HEADROOM_MAX_CONNECTIONS": "40"}),
    (("--anthropic-api-url", "http://127.0.0.1:5"), {"ANTHROPIC_TARGET_API_URL": "http://127.0.0.1:6"}),
]


@pytest.mark.parametrize(("flag", "env"), BEATS, ids=[f[0] for f, _ in BEATS])
def test_a_flag_beats_its_env_var(flag: tuple[str, ...], env: dict[str, str]) -> None:
    assert settings_for(*flag, env={"HEADROOM_HOME": "/h", **env}) == settings_for(*flag, env={"HEADROOM_HOME": "/h"})
    assert settings_for(*flag, env={"HEADROOM_HOME": "/h", **env}) != settings_for(env={"HEADROOM_HOME": "/h", **env})


# --------------------------------------------------------------------------- server flags (subprocess)


def test_host_and_port_bind_there(tmp_path: Path, fake: RunningFakeUpstream) -> None:
    port, env_port = free_port(), free_port()
    env = {"HEADROOM_HOST": "127.0.0.1", "HEADROOM_PORT": str(env_port), "ANTHROPIC_TARGET_API_URL": fake.url}
    with headroom_proxy(tmp_path, "--host", "127.0.0.2", "--port", str(port), env=env, host="127.0.0.2", port=port):
        assert not is_listening("127.0.0.1", port) and not is_listening("127.0.0.1", env_port)
        response = httpx.post(f"http://127.0.0.2:{port}/v1/messages", json=anthropic_body(), headers={"x-api-key": "dummy"}, timeout=30)
        assert response.status_code == 200 and response.json()["content"][0]["text"]
    # the variables alone bind where they say
    with headroom_proxy(tmp_path, env=env, host="127.0.0.1", port=env_port):
        assert httpx.get(f"http://127.0.0.1:{env_port}/health", timeout=5).json()["status"] == "healthy"


def test_workers_runs_that_many_worker_processes(tmp_path: Path) -> None:
    port = free_port()
    with headroom_proxy(tmp_path, "--port", str(port), "--workers", "2", "--mode", "cache", port=port) as process:
        deadline = time.monotonic() + 20
        while len(workers := [c for c in children(process.pid) if "spawn_main" in c]) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(workers) == 2, children(process.pid)
        # each worker built its app from the settings the command handed down
        assert {httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).json()["mode"] for _ in range(6)} == {"cache"}
    port = free_port()
    with headroom_proxy(tmp_path, "--port", str(port), port=port) as process:
        assert not [c for c in children(process.pid) if "spawn_main" in c]


def staggered_statuses(url: str) -> list[int]:
    """Two slow requests (the fake waits 1.5 s), then, while they are in flight, three more; the
    statuses of all five, in that order."""
    body = anthropic_body()
    body["messages"][0]["content"] = "wait [[fake:delay_ms 1500]]"

    async def go() -> list[int]:
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=5), timeout=30) as client:
            post = lambda: client.post(f"{url}/v1/messages", json=body, headers={"x-api-key": "dummy"})
            first = []
            for _ in range(2):
                first.append(asyncio.ensure_future(post()))
                await asyncio.sleep(0.2)
            rest = await asyncio.gather(*(post() for _ in range(3)))
            return [r.status_code for r in (*await asyncio.gather(*first), *rest)]

    return asyncio.run(go())


def test_limit_concurrency_answers_503_beyond_it(tmp_path: Path, fake: RunningFakeUpstream) -> None:
    # uvicorn answers 503 once the open connections, this one included, reach the limit.
    port = free_port()
    with headroom_proxy(tmp_path, "--port", str(port), "--limit-concurrency", "3", "--anthropic-api-url", fake.url, port=port):
        assert staggered_statuses(f"http://127.0.0.1:{port}") == [200, 200, 503, 503, 503]
    port = free_port()
    with headroom_proxy(tmp_path, "--port", str(port), "--anthropic-api-url", fake.url, port=port):
        assert staggered_statuses(f"http://127.0.0.1:{port}") == [200] * 5


# --------------------------------------------------------------------------- upstream pool flags


class Peers:
    """A tiny upstream that notes each request's client port and how many were in flight at once."""

    def __init__(self) -> None:
        self.ports: list[int] = []
        self.in_flight = 0
        self.most_in_flight = 0

    def app(self) -> Starlette:
        async def answer(request: Request) -> JSONResponse:
            await request.body()
            assert request.client is not None
            self.ports.append(request.client.port)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            await asyncio.sleep(0.2)
            self.in_flight -= 1
            return JSONResponse({"id": "msg_x", "type": "message", "role": "assistant", "content": [], "usage": {"input_tokens": 1, "output_tokens": 1}})

        return Starlette(routes=[Route("/v1/messages", answer, methods=["POST"])])


def pool_use(*args: str, env: Mapping[str, str], concurrent: int, sequential: int) -> Peers:
    peers = Peers()
    with serve(peers.app()) as upstream, serve(create_app(settings_for("--anthropic-api-url", upstream, *args, env=env))) as url:

        async def go() -> None:
            async with httpx.AsyncClient(timeout=30) as client:
                post = lambda: client.post(f"{url}/v1/messages", json=anthropic_body(), headers={"x-api-key": "dummy"})
                assert all(r.status_code == 200 for r in await asyncio.gather(*(post() for _ in range(concurrent))))
                for _ in range(sequential):
                    assert (await post()).status_code == 200

        asyncio.run(go())
    return peers


def test_max_connections_bounds_upstream_connections(home: dict[str, str]) -> None:
    assert pool_use(env=home, concurrent=4, sequential=0).most_in_flight == 4
    assert pool_use("--max-connections", "1", env=home, concurrent=4, sequential=0).most_in_flight == 1
    assert pool_use(env={**home, "HEADROOM_MAX_CONNECTIONS": "2"}, concurrent=4, sequential=0).most_in_flight == 2


def test_max_keepalive_bounds_idle_upstream_connections(home: dict[str, str]) -> None:
    # one after another: a kept-alive connection is reused; with none kept, each request opens one
    assert len(set(pool_use(env=home, concurrent=0, sequential=3).ports)) == 1
    assert len(set(pool_use("--max-keepalive", "0", env=home, concurrent=0, sequential=3).ports)) == 3


# --------------------------------------------------------------------------- proxy flags


def test_no_optimize_forwards_the_original_bytes(fake: RunningFakeUpstream, home: dict[str, str]) -> None:
    body = anthropic_body(bash_users())
    raw = json.dumps(body).encode()
    response, seen, _ = through(fake, body, "--no-optimize", env=home)
    assert seen == raw and response.headers["x-headroom-decisions"] == "bypass"
    response, seen, _ = through(fake, body, env=home)
    assert len(seen) < len(raw) / 2 and int(response.headers["x-headroom-tokens-saved"]) > 0


def test_log_file_writes_one_json_line_per_request(fake: RunningFakeUpstream, home: dict[str, str], tmp_path: Path) -> None:
    log = tmp_path / "logs" / "requests.jsonl"
    body = anthropic_body(bash_users())
    through(fake, body, env=home)
    assert not log.exists()
    through(fake, body, "--log-file", str(log), env=home)
    through(fake, body, env={**home, "HEADROOM_LOG_FILE": str(log)})
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(lines) == 2
    assert all(line["route"] and line["status"] == 200 and line["tokens_saved"] > 0 for line in lines)
    text = log.read_text()
    assert "dummy" not in text and "user149" not in text and QUESTION not in text  # no credentials, no message text


def files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.exists() else []


def test_stateless_writes_nothing_under_headroom_home(fake: RunningFakeUpstream, home: dict[str, str]) -> None:
    state = Path(home["HEADROOM_HOME"])
    with proxy(fake, "--stateless", env=home) as url:
        response = httpx.post(f"{url}/v1/messages", json=anthropic_body(bash_users()), headers={"x-api-key": "dummy"}, timeout=30)
        assert int(response.headers["x-headroom-tokens-saved"]) > 0
        assert httpx.get(f"{url}/health").json()["stateless"] is True
    assert files_under(state) == []


def test_without_stateless_the_originals_are_kept_under_headroom_home(fake: RunningFakeUpstream, home: dict[str, str]) -> None:
    with proxy(fake, env=home) as url:
        response = httpx.post(f"{url}/v1/messages", json=anthropic_body(bash_users()), headers={"x-api-key": "dummy"}, timeout=30)
        assert int(response.headers["x-headroom-tokens-saved"]) > 0
    assert files_under(Path(home["HEADROOM_HOME"])) != []


def test_mode_cache_leaves_earlier_turns_untouched(fake: RunningFakeUpstream, home: dict[str, str]) -> None:
    # A conversation the proxy sees for the first time at its second tool turn.
    earlier = users_json()
    newest = users_json(120)
    body = anthropic_body(tool_turn(1, "Bash", {"command": "cat users.json"}, earlier), tool_turn(2, "Bash", {"command": "cat old.json"}, newest))
    for args, env in ((("--mode", "cache"), home), ((), {**home, "HEADROOM_MODE": "cache"})):
        _, _, seen = through(fake, body, *args, env=env)
        first, second = results(seen)
        assert first == earlier and second != newest and "[[headroom" in second
    for args, env in (((), home), (("--mode", "token"), {**home, "HEADROOM_MODE": "cache"})):
        _, _, seen = through(fake, body, *args, env=env)
        first, second = results(seen)
        assert "[[headroom" in first and "[[headroom" in second


def test_target_ratio_changes_how_much_prose_is_kept(fake: RunningFakeUpstream, home: dict[str, str]) -> None:
    body = anthropic_body(tool_turn(1, "WebFetch", {"url": "https://docs.example.com/billing"}, prose()))
    kept = {}
    for ratio in ("0.2", "0.7"):
        _, _, seen = through(fake, body, "--target-ratio", ratio, env=home)
        kept[ratio] = len(results(seen)[0])
    _, _, seen = through(fake, body, env={**home, "HEADROOM_TARGET_RATIO": "0.2"})
    assert len(results(seen)[0]) == kept["0.2"]
    assert kept["0.2"] < 0.4 * len(prose()) and kept["0.7"] > 0.6 * len(prose())


def read_of(path: str, text: str) -> list[dict[str, Any]]:
    return tool_turn(1, "Read", {"file_path": path}, text)


def test_intercept_tool_results_outlines_the_first_read(fake: RunningFakeUpstream, home: dict[str, str]) -> None:
    code = numbered(source_file())
    body = anthropic_body(read_of("/repo/textwrap.py", code), tool_turn(2, "Bash", {"command": "echo done"}, "done"))
    _, _, seen = through(fake, body, "--intercept-tool-results", "--mode", "cache", env=home)
    # cache mode leaves earlier turns alone, so what changed it here is the interception
    assert results(seen)[0] == code
    _, _, seen = through(fake, body, "--intercept-tool-results", env=home)
    outlined = results(seen)[0]
    assert "[[headroom: body of" in outlined and "a later read passes whole" in outlined and len(outlined) < len(code) / 2
    _, _, seen = through(fake, body, env={**home, "HEADROOM_INTERCEPT_TOOL_RESULTS": "1"})
    assert results(seen)[0] == outlined
    _, _, seen = through(fake, body, env=home)
    assert "a later read passes whole" not in results(seen)[0]


def test_no_read_lifecycle_keeps_stale_reads(fake: RunningFakeUpstream, home: dict[str, str]) -> None:
    app = "\n".join(f"{n:>6}\tline {n} of app.py: value = compute({n})" for n in range(1, 121))
    body = anthropic_body(
        read_of("/repo/app.py", app),
        tool_turn(2, "Edit", {"file_path": "/repo/app.py", "old_string": "a", "new_string": "b"}, "The file /repo/app.py has been updated."),
    )
    _, _, seen = through(fake, body, env=home)
    assert "stale read of /repo/app.py" in results(seen)[0]
    for args, env in ((("--no-read-lifecycle",), home), ((), {**home, "HEADROOM_NO_READ_LIFECYCLE": "1"})):
        _, _, seen = through(fake, body, *args, env=env)
        assert "stale read" not in results(seen)[0]


def test_code_aware_outlines_source(fake: RunningFakeUpstream, home: dict[str, str]) -> None:
    code = source_file()
    body = anthropic_body(tool_turn(1, "Bash", {"command": "cat textwrap.py"}, code))
    _, _, seen = through(fake, body, "--code-aware", env=home)
    outlined = results(seen)[0]
    assert "def wrap(" in outlined and "[[headroom" in outlined and len(outlined) < 0.7 * len(code)
    for args, env in (((), home), (("--no-code-aware",), {**home, "HEADROOM_CODE_AWARE_ENABLED": "1"})):
        _, _, seen = through(fake, body, *args, env=env)
        assert results(seen)[0] == code
    _, _, seen = through(fake, body, env={**home, "HEADROOM_CODE_AWARE_ENABLED": "1"})
    assert results(seen)[0] == outlined


def test_lossless_leaves_no_markers(fake: RunningFakeUpstream, home: dict[str, str]) -> None:
    body = anthropic_body(bash_users(), tool_turn(2, "WebFetch", {"url": "https://docs.example.com/billing"}, prose()))
    _, _, seen = through(fake, body, env=home)
    assert all("[[headroom:" in text for text in results(seen))
    for args, env in ((("--lossless",), home), ((), {**home, "HEADROOM_LOSSLESS": "1"})):
        _, _, seen = through(fake, body, *args, env=env)
        table, page = results(seen)
        assert "[[headroom:" not in table and "retrieve id=" not in table and table.startswith("[[headroom table")
        assert all(f"user{i:03d}@example.com" in table for i in range(150))
        assert page == prose()


def test_no_ccr_inject_tool_keeps_the_tools_list(fake: RunningFakeUpstream, home: dict[str, str]) -> None:
    body = anthropic_body(bash_users())
    _, _, seen = through(fake, body, env=home)
    assert "retrieve id=" in results(seen)[0]
    assert [t["name"] for t in seen["tools"]] == [t["name"] for t in body["tools"]] + [RETRIEVE_TOOL_NAME]
    for args, env in ((("--no-ccr-inject-tool",), home), ((), {**home, "HEADROOM_NO_CCR_INJECT_TOOL": "1"})):
        _, _, seen = through(fake, body, *args, env=env)
        assert seen["tools"] == body["tools"]


def test_protect_tool_results_keeps_a_tool_lossless(fake: RunningFakeUpstream, home: dict[str, str]) -> None:
    body = anthropic_body(bash_users())
    _, _, seen = through(fake, body, env=home)
    assert "[[headroom:" in results(seen)[0]
    for args, env in ((("--protect-tool-results", "Grep,Bash"), home), ((), {**home, "HEADROOM_PROTECT_TOOL_RESULTS": "Bash"})):
        _, _, seen = through(fake, body, *args, env=env)
        protected = results(seen)[0]
        assert "[[headroom:" not in protected and all(f"user{i:03d}@example.com" in protected for i in range(150))
    _, _, seen = through(fake, body, "--protect-tool-results", "Read", env=home)
    assert "[[headroom:" in results(seen)[0]


def test_upstream_urls_route_each_provider(fake: RunningFakeUpstream, home: dict[str, str]) -> None:
    chat = {"model": "gpt-test", "messages": [{"role": "user", "content": "hi"}]}
    gemini = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    calls = [
        ("--anthropic-api-url", "ANTHROPIC_TARGET_API_URL", "/v1/messages", anthropic_body()),
        ("--openai-api-url", "OPENAI_TARGET_API_URL", "/v1/chat/completions", chat),
        ("--gemini-api-url", "GEMINI_TARGET_API_URL", "/v1beta/models/gemini-test:generateContent", gemini),
    ]
    with running_fake_upstream() as other:
        for flag, var, path, body in calls:
            suffix = "/v1" if flag == "--openai-api-url" else ""
            for args, env, target in (
                ((flag, fake.url + suffix), home, fake),
                ((), {**home, var: other.url + suffix}, other),
                ((flag, fake.url + suffix), {**home, var: other.url + suffix}, fake),  # the flag wins
            ):
                before = {id(f): len(f.requests) for f in (fake, other)}
                settings = settings_for(*args, env=env)
                with serve(create_app(settings)) as url:
                    httpx.post(url + path, json=body, headers={"x-api-key": "dummy", "authorization": "Bearer dummy"}, timeout=30)
                arrived = {id(f): len(f.requests) - before[id(f)] for f in (fake, other)}
                assert arrived[id(target)] == 1 and sum(arrived.values()) == 1, (flag, env)
                assert target.requests[-1].path == path


def test_backend_bedrock_signs_and_routes_to_bedrock(fake: RunningFakeUpstream, home: dict[str, str]) -> None:
    aws = {**home, "AWS_ACCESS_KEY_ID": FAKE_AWS_ACCESS_KEY_ID, "AWS_SECRET_ACCESS_KEY": FAKE_AWS_SECRET_ACCESS_KEY}
    body = {**anthropic_body(), "model": "anthropic.claude-test-v1:0"}
    for args, env, region in (
        (("--backend", "bedrock", "--bedrock-api-url", fake.url, "--region", "eu-central-1"), aws, "eu-central-1"),
        ((), {**aws, "HEADROOM_BACKEND": "bedrock", "BEDROCK_TARGET_API_URL": fake.url, "HEADROOM_REGION": "ap-south-1"}, "ap-south-1"),
    ):
        with serve(create_app(settings_for(*args, env=env))) as url:
            response = httpx.post(url + "/v1/messages", json=body, headers={"x-api-key": "dummy"}, timeout=30)
        assert response.status_code == 200, response.text
        seen = fake.requests[-1]
        assert seen.path == "/model/anthropic.claude-test-v1:0/invoke"
        assert f"/{region}/bedrock/aws4_request" in seen.header("authorization")
    # without the flag the default backend forwards Anthropic requests as they are
    with serve(create_app(settings_for("--anthropic-api-url", fake.url, env=aws))) as url:
        httpx.post(url + "/v1/messages", json=anthropic_body(), headers={"x-api-key": "dummy"}, timeout=30)
    assert fake.requests[-1].path == "/v1/messages"
    assert settings_for("--backend", "openrouter", env=home).backend == "openrouter"
    with pytest.raises(SettingsError, match="backend='bedrock': expected AWS credentials"):
        create_app(settings_for("--backend", "bedrock", env=home))
