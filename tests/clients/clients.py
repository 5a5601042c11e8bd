"""Shared pieces of the real-client tests: the installed binaries, a recorder in front of the
proxy, one run of a client straight at the fake upstream or through the proxy, and comparisons
between what a client sent and what reached the upstream.

The clients are the real npm packages installed by scripts/install-clients.sh into .tools/.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from starlette.types import ASGIApp, Receive, Scope, Send

from headroom_core import RETRIEVE_TOOL_NAME
from headroom_proxy import Settings, create_app
from tests.proxy.servers import serve
from tests.support.fake_upstream import running_fake_upstream

REPO = Path(__file__).resolve().parents[2]
TOOLS = REPO / ".tools"
CLAUDE = TOOLS / "cc" / "node_modules" / ".bin" / "claude"
CODEX = TOOLS / "codex" / "node_modules" / ".bin" / "codex"


def missing(binary: Path) -> str | None:
    """The skip reason when a client is not installed, else None."""
    if binary.exists():
        return None
    return f"{binary.relative_to(REPO)} is not installed: run scripts/install-clients.sh"


def big_pretty_json(rows: int = 150) -> str:
    """A deterministic array of same-shaped objects, pretty-printed: what a tool prints and the
    core turns into a table (or crushes)."""
    records = [
        {
            "id": i,
            "user": f"user{i:03d}",
            "email": f"user{i:03d}@example.com",
            "active": i % 7 != 0,
            "roles": ["reader"] + (["admin"] if i % 50 == 0 else []),
            "last_login": f"2026-11-{1 + i % 27:02d}T{i % 24:02d}:15:00Z",
        }
        for i in range(rows)
    ]
    return json.dumps(records, indent=2)


def copy_stdlib_module(name: str, to: Path) -> None:
    """Real code to read and grep: a stdlib module, copied so its path is ours."""
    lib = Path(sys.base_prefix) / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    to.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(lib / name, to)


def directive(tool: str, arguments: object) -> str:
    return f"[[fake:tool {tool} {json.dumps(arguments)}]]"


@dataclass
class Recorder:
    """ASGI middleware in front of the proxy: keeps each POST body exactly as the client sent it.

    It stands on the near side of the proxy, never inside it; the proxy under test is unchanged.
    """

    app: ASGIApp
    bodies: list[tuple[str, bytes]] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []

        async def recording() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    self.bodies.append((scope["path"], b"".join(chunks)))
            return message

        await self.app(scope, recording, send)

    def posts(self, path: str) -> list[Any]:
        return [json.loads(body) for p, body in self.bodies if p == path]


def dumps(value: Any) -> str:
    """Key order and values as they are: equal strings mean the same JSON, byte for byte."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# Runs a client against a base URL (the fake upstream's or the proxy's) and returns when it exits.
Launch = Callable[[str], "subprocess.CompletedProcess[str]"]
_Run = TypeVar("_Run", bound="ClientRun")


@dataclass(frozen=True)
class ClientRun:
    """One run of a client: its JSON events (one per stdout line), the request bodies it sent
    (through the proxy only) and those the upstream received, decoded and as raw bytes."""

    returncode: int
    stderr: str
    events: list[dict[str, Any]]
    sent: list[dict[str, Any]]
    upstream: list[dict[str, Any]]
    upstream_raw: list[bytes] = field(default_factory=list)

    @classmethod
    def direct(cls: type[_Run], launch: Launch, path: str) -> _Run:
        """Run the client straight at the fake upstream; `path` is the API path it POSTs to."""
        with running_fake_upstream() as fake:
            done = launch(fake.url)
            upstream = upstream_posts(fake.requests, path)
        return cls.from_process(done, upstream, upstream, upstream_raw_posts(fake.requests, path))

    @classmethod
    def proxied(cls: type[_Run], launch: Launch, path: str) -> _Run:
        """Run the client through the proxy (with a Recorder in front of it) to the fake upstream."""
        with running_fake_upstream() as fake:
            settings = Settings.from_env({}, anthropic_api_url=fake.url, openai_api_url=fake.url, stateless=True)
            recorder = Recorder(create_app(settings))
            with serve(recorder) as url:
                done = launch(url)
            return cls.from_process(done, recorder.posts(path), upstream_posts(fake.requests, path), upstream_raw_posts(fake.requests, path))

    @classmethod
    def from_process(
        cls: type[_Run], done: subprocess.CompletedProcess[str], sent: list[dict[str, Any]], upstream: list[dict[str, Any]], upstream_raw: list[bytes] | None = None
    ) -> _Run:
        events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
        return cls(done.returncode, done.stderr, events, sent, upstream, list(upstream_raw or ()))


def upstream_posts(fake_requests: list[Any], path: str) -> list[dict[str, Any]]:
    """The JSON bodies the fake upstream received in POSTs to `path`, in order."""
    return [r.json for r in fake_requests if r.method == "POST" and r.path == path]


def upstream_raw_posts(fake_requests: list[Any], path: str) -> list[bytes]:
    """The bodies the fake upstream received in POSTs to `path`, byte for byte, in order."""
    return [r.body for r in fake_requests if r.method == "POST" and r.path == path]


def assert_tools_kept(sent: list[Any], upstream: list[Any]) -> None:
    """The client's tools go upstream byte-identical and in order; the proxy may add its retrieve
    tool after them (it answers those calls itself)."""
    assert dumps(upstream[: len(sent)]) == dumps(sent)
    assert [t.get("name") for t in upstream[len(sent) :]] in ([], [RETRIEVE_TOOL_NAME])


# The retrieval scripts both clients run: read a big export, have the model ask for what a marker
# elided (alone, or beside one of the client's own tool calls), then answer. Each scripted run has
# a direct twin without the retrieve turn.
RETRIEVAL_FINAL_TEXT = "150 users exported; 22 of them are inactive."


def retrieval_runs(
    run: type[_Run], launcher: Callable[[Path, Path, str], Launch], path: str, tool: str, cat: object, echo: object,
    tmp_path_factory: Any,
) -> dict[str, _Run]:
    """alone / alone-direct / mixed / mixed-direct runs of one client, in a work dir holding users.json."""

    def script(*turns: str) -> str:
        return " ".join(["How many users are inactive?", *turns, f"[[fake:text {RETRIEVAL_FINAL_TEXT}]]"])

    work = tmp_path_factory.mktemp("retrieval-work")
    (work / "users.json").write_text(big_pretty_json() + "\n", encoding="utf-8")
    scripts = (
        ("alone", script(directive(tool, cat), "[[fake:retrieve]]"), run.proxied),
        ("alone-direct", script(directive(tool, cat)), run.direct),
        ("mixed", script(directive(tool, cat), f"[[fake:retrieve]] [[fake:also {tool} {json.dumps(echo)}]]"), run.proxied),
        ("mixed-direct", script(directive(tool, cat), directive(tool, echo)), run.direct),
    )
    return {name: how(launcher(work, tmp_path_factory.mktemp(f"retrieval-home-{name}"), text), path) for name, text, how in scripts}
