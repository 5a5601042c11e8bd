"""The benchmark conversations: real tool output from `sources`, arranged as agent sessions.

Each builder returns one Scenario. Its first user message states the task (so a compressor
can know what matters: DESIGN's query is the last user text before a segment plus the tool
call's arguments); its last user message asks the question; its needles are exact strings a
correct answer needs, taken from the real output at run time.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from . import sources as src
from .conversation import Conversation

SYSTEM = (
    "You are a coding agent working in the user's repository. Use the tools to inspect files, run "
    "commands and tests. Quote file paths, line numbers and error messages exactly. Keep answers short."
)


@dataclass(frozen=True)
class Scenario:
    name: str
    wire: str  # "anthropic" or "openai-chat"
    description: str
    messages: list[dict[str, Any]]
    needles: tuple[str, ...]
    system: str = SYSTEM
    sources: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Shared:
    """Outputs more than one scenario uses, produced once per corpus build."""

    scale: float
    server_log: str
    orders_json: str
    failing_path: str
    pytest_out: str
    failing_test: str
    repo: Path
    commits: list[tuple[str, list[str]]]


def lines(shared: Shared, n: int) -> int:
    return max(20, int(n * shared.scale))


def _one(pattern: str, text: str) -> str:
    m = re.search(pattern, text, re.M)
    if m is None:
        raise RuntimeError(f"corpus: {pattern!r} not found in the tool output")
    return m.group(0)


# --- scenarios ---------------------------------------------------------------------------------

def grep_timeouts(sh: Shared) -> Scenario:
    pkgs = src.present(("httpx", "httpcore", "anyio", "urllib3", "requests", "aiohttp", "h11", "uvicorn", "starlette"))
    out = src.grep("imeout", pkgs, lines(sh, 2500))
    c = Conversation("anthropic", SYSTEM)
    c.user("Requests through httpx sometimes hang. Where is `class ReadTimeout` defined, and what does it subclass?")
    c.tool("Bash", {"command": f"grep -rn --include='*.py' imeout {' '.join(pkgs)} | sort -t: -k1,1 -k2,2n",
                    "description": "Find timeout handling in the HTTP stack"}, out)
    c.user("So, which file and line define ReadTimeout in httpx, and what is its base class?")
    needle = _one(r"^httpx/_exceptions\.py:[0-9]+:class ReadTimeout\(.*$", out)
    return Scenario("grep_timeouts", "anthropic", "grep -rn over site-packages (HTTP stack)", c.finish(), (needle,))


def read_argparse(sh: Shared) -> Scenario:
    path = src.STDLIB / "argparse.py"
    out = src.read_numbered(path, 10_000)
    c = Conversation("anthropic", SYSTEM)
    c.user("In the stdlib argparse.py, what arguments does `_get_optional_kwargs` take, and where is `parse_known_args` defined?")
    c.tool("Read", {"file_path": str(path)}, out)
    c.user("Give me the line numbers of `def _get_optional_kwargs` and `def parse_known_args`.")
    needles = (_one(r"^ *[0-9]+\t    def _get_optional_kwargs\(.*$", out), _one(r"^ *[0-9]+\t    def parse_known_args\(.*$", out))
    return Scenario("read_argparse", "anthropic", "Read of a whole stdlib source file", c.finish(), needles)


def read_two_sources(sh: Shared) -> Scenario:
    c = Conversation("openai-chat", SYSTEM)
    c.user("How does httpx build the request in `Client.send` and where does `_send_handling_redirects` start? Also check json/decoder.py's `raw_decode`.")
    needles = []
    for rel, name in (("httpx/_client.py", "_send_handling_redirects"), ("json/decoder.py", "raw_decode")):
        base = src.SITE if rel.startswith("httpx") else src.STDLIB
        out = src.read_numbered(base / rel, 10_000)
        c.tool("read_file", {"path": str(base / rel)}, out)
        needles.append(_one(rf"^ *[0-9]+\t    (async )?def {name}\(.*$", out))
    c.user("Which lines define `_send_handling_redirects` and `raw_decode`?")
    return Scenario("read_two_sources", "openai-chat", "Reads of a site-packages and a stdlib file (OpenAI shape)", c.finish(), tuple(needles))


def pip_inspect(sh: Shared) -> Scenario:
    out = src.pip_inspect_installed(max(8, int(80 * sh.scale)))
    rows = json.loads(out)
    names = {r["metadata"]["name"].lower(): r for r in rows}
    target = next((n for n in ("httpcore", "httpx", "h11", "click", "anyio") if n in names), sorted(names)[0])
    meta = names[target]["metadata"]
    c = Conversation("anthropic", SYSTEM)
    c.user(f"Which version of {target} is installed, what Python does it require, and what are its dependencies?")
    c.tool("Bash", {"command": "pip inspect | jq '[.installed[] | del(.metadata.description)] | sort_by(.metadata.name)'"}, out)
    c.user(f"So what exactly is installed for {target}?")
    needles = (f'"name":{json.dumps(meta["name"])},"version":{json.dumps(meta["version"])}',)
    pinned = [r for r in meta.get("requires_dist") or () if re.search(r"[<>=]", r) and "extra" not in r]
    if pinned:
        needles += (pinned[0],)
    return Scenario("pip_inspect", "anthropic", "pip inspect JSON (pretty, one object per package)", c.finish(), needles)


def pip_list_show(sh: Shared) -> Scenario:
    listing = src.pip("list", "--format=json")
    show = src.pip("show", "-f", "rich")
    show_pygments = src.pip("show", "-f", "pygments")
    c = Conversation("openai-chat", SYSTEM)
    c.user("Is rich's markdown renderer installed here (rich/markdown.py), and which rich and pygments versions do we have?")
    c.tool("bash", {"command": "pip list --format=json"}, listing)
    c.tool("bash", {"command": "pip show -f rich"}, show)
    c.tool("bash", {"command": "pip show -f pygments"}, show_pygments)
    c.user("Confirm the rich version and that rich/markdown.py is in its file list.")
    rich = next(p for p in json.loads(listing) if p["name"].lower() == "rich")
    needles = (f'"name":"{rich["name"]}","version":"{rich["version"]}"', _one(r"rich/markdown\.py$", show))
    return Scenario("pip_list_show", "openai-chat", "pip list JSON + pip show -f file lists (OpenAI shape)", c.finish(), needles)


def git_log_patch(sh: Shared) -> Scenario:
    upgrades = max(1, len(sh.commits) - 1)
    log = src.head(src.run(["git", "log", "-p", "--stat", "-n", str(upgrades)], cwd=sh.repo), lines(sh, 4000))
    files = re.findall(r"^diff --git a/(\S+\.py) ", log, re.M)
    # A file buried past the middle of the log, named by the user (so a compressor can know it).
    target = files[len(files) * 2 // 3]
    c = Conversation("anthropic", SYSTEM)
    c.user(f"What changed in {target} in the vendor upgrades? I need the exact changed lines.")
    c.tool("Bash", {"command": f"git log -p --stat -n {upgrades}"}, log)
    c.user(f"Summarise the change to {target}: which commit, and the first line it changed.")
    section = log.split(f"diff --git a/{target} b/{target}", 1)[1]
    first_change = _one(r"^[-+](?![-+]{2} ).*\S.*$", section)
    needles = (f"diff --git a/{target} b/{target}", first_change)
    return Scenario("git_log_patch", "anthropic", "git log -p of a real vendor-upgrade history", c.finish(), needles)


def git_diff_openai(sh: Shared) -> Scenario:
    first = src.run(["git", "rev-list", "--max-parents=0", "HEAD"], cwd=sh.repo).strip()
    diff = src.head(src.run(["git", "diff", "--stat", "-p", first, "HEAD", "--", "vendor/requests", "vendor/idna", "vendor/certifi"], cwd=sh.repo), lines(sh, 3000))
    if "diff --git" not in diff:
        diff = src.head(src.run(["git", "diff", "-p", first, "HEAD"], cwd=sh.repo), lines(sh, 3000))
    target = re.findall(r"^diff --git a/(\S+) ", diff, re.M)[-1]
    c = Conversation("openai-chat", SYSTEM)
    c.user(f"Review the vendor upgrade diff; I care most about {target}.")
    c.tool("shell", {"cmd": ["git", "diff", "--stat", "-p", first[:12], "HEAD"]}, diff)
    c.user(f"What changed in {target}? Quote the hunk header.")
    section = diff.split(f"diff --git a/{target} b/{target}", 1)[1]
    needles = (f"diff --git a/{target} b/{target}", _one(r"^@@ .* @@.*$", section))
    return Scenario("git_diff_openai", "openai-chat", "git diff between two real versions (OpenAI shape)", c.finish(), needles)


def pytest_failure(sh: Shared) -> Scenario:
    c = Conversation("anthropic", SYSTEM)
    c.user("Run the invoices test suite and tell me what fails and why.")
    c.tool("Bash", {"command": "python -m pytest -v test_money.py", "description": "Run the tests"}, sh.pytest_out)
    c.user("Which test failed, and what is the assertion message?")
    needles = (f"FAILED {sh.failing_test}", _one(r"^E +AssertionError: split_total lost .*$", sh.pytest_out).lstrip("E").strip())
    return Scenario("pytest_failure", "anthropic", "pytest -v with one failure among ~150 tests", c.finish(), needles)


def server_log(sh: Shared) -> Scenario:
    c = Conversation("anthropic", SYSTEM)
    c.user("The orders dashboard showed one 500 this morning. Find it in the server log and tell me the cause.")
    c.tool("Bash", {"command": "cat /var/log/orders/server.log"}, sh.server_log)
    c.user("Which request got the 500 and what exception caused it?")
    needles = (f'"GET {sh.failing_path} HTTP/1.1" 500', "KeyError: 'currency'")
    return Scenario("server_log", "anthropic", "uvicorn log of ~1000 requests with one buried 500", c.finish(), needles)


def orders_json(sh: Shared) -> Scenario:
    rows = json.loads(sh.orders_json)
    failed = next(r for r in rows if r["status"] == "failed")
    c = Conversation("openai-chat", SYSTEM)
    c.user("List the recent orders from the API and tell me if any payment failed.")
    c.tool("bash", {"command": "curl -s 'http://127.0.0.1:8000/api/orders?limit=300' | jq ."}, json.dumps(rows, indent=2))
    c.user("Which order failed, and what is its error?")
    needles = (failed["id"], failed["error"])
    return Scenario("orders_json", "openai-chat", "300-row JSON array from the server's API, one failed payment", c.finish(), needles)


def find_listing(sh: Shared) -> Scenario:
    names = ("_pytest", "anyio", "pygments") if sh.scale < 1 else ("_pytest", "anyio", "pydantic", "hypothesis", "pygments", "openai")
    pkgs = src.present(names)
    out = src.find_files(pkgs, 5000)
    c = Conversation("anthropic", SYSTEM)
    c.user("Where does anyio keep its pytest plugin? I want the exact path of pytest_plugin.py.")
    c.tool("Bash", {"command": f"find {' '.join(pkgs)} -type f -not -path '*/__pycache__/*' | sort"}, out)
    c.user("What is the path of anyio's pytest_plugin.py?")
    return Scenario("find_listing", "anthropic", "find listing of several packages", c.finish(), (_one(r"^anyio/pytest_plugin\.py$", out),))


def readme_prose(sh: Shared) -> Scenario:
    docs = [(d, src.readme(d)) for d in ("httpx", "rich", "hypothesis", "pydantic", "click")]
    docs = [(d, t) for d, t in docs if t]
    c = Conversation("anthropic", SYSTEM)
    c.user("Does httpx support HTTP/2, and how do I enable it? Check the package docs.")
    needle = ""
    for dist, text in docs:
        text = src.head(text, lines(sh, 400))
        c.tool("WebFetch", {"url": f"https://pypi.org/project/{dist}/", "prompt": "the project description"}, text)
        if dist == "httpx":
            needle = _one(r"^\$ pip install httpx\[http2\]$", text)
    c.user("So: does httpx do HTTP/2, and what do I install for it?")
    return Scenario("readme_prose", "anthropic", "package READMEs (markdown prose)", c.finish(), (needle,) if needle else ())


def coding_session(sh: Shared, turns: int | None = None) -> Scenario:
    """A long session mixing every kind: the one the cache-economics replay sends turn by turn."""
    c = Conversation("anthropic", SYSTEM)
    c.user(
        "The invoices tests are red and the orders service threw a 500 this morning. Find the failing test "
        f"and its assertion message, then find the 500 for {sh.failing_path} in the server log, and fix both."
    )
    steps: list[Callable[[], None]] = []
    pkgs = src.present(("httpx", "httpcore", "h11"))
    steps.append(lambda: c.tool("Bash", {"command": "python -m pytest -v test_money.py"}, sh.pytest_out,
                                say="Let me run the tests first."))
    steps.append(lambda: c.tool("Read", {"file_path": "/srv/invoices/money.py"},
                                src.read_numbered(sh.repo.parent / "invoices" / "money.py", 200)))
    steps.append(lambda: c.tool("Bash", {"command": "cat /var/log/orders/server.log"}, sh.server_log,
                                say="Now the server log."))
    steps.append(lambda: c.tool("Bash", {"command": "grep -rn --include='*.py' imeout " + " ".join(pkgs)},
                                src.grep("imeout", pkgs, lines(sh, 300))))
    steps.append(lambda: c.tool("Read", {"file_path": str(src.STDLIB / "json" / "decoder.py")},
                                src.read_numbered(src.STDLIB / "json" / "decoder.py", 400)))
    steps.append(lambda: c.tool("Bash", {"command": "curl -s 'http://127.0.0.1:8000/api/orders?limit=300' | jq ."},
                                json.dumps(json.loads(sh.orders_json)[: lines(sh, 120)], indent=2)))
    steps.append(lambda: c.tool("Edit", {"file_path": "/srv/invoices/money.py",
                                         "old_string": "    return [share] * parts",
                                         "new_string": "    rest = total_cents - share * parts\n    return [share + (i < rest) for i in range(parts)]"},
                                "The file /srv/invoices/money.py has been updated."))
    steps.append(lambda: c.tool("Bash", {"command": "git log -p --stat -n 2"},
                                src.head(src.run(["git", "log", "-p", "--stat", "-n", "2"], cwd=sh.repo), lines(sh, 700))))
    steps.append(lambda: c.tool("Bash", {"command": "find anyio -type f | sort"}, src.find_files(src.present(("anyio",)), 400)))
    steps.append(lambda: c.tool("Bash", {"command": "pip show -f rich"}, src.head(src.pip("show", "-f", "rich"), 250)))
    steps.append(lambda: c.tool("Bash", {"command": "python -m pytest -q test_money.py"},
                                "." * 150 + "\n150 passed in 0.42s", say="Re-running the tests."))
    for step in steps[: turns or len(steps)]:
        step()
    c.user("Summarise: which test failed with what message, and what caused the 500?")
    needles = (f"FAILED {sh.failing_test}", _one(r"AssertionError: split_total lost .*$", sh.pytest_out),
               f'"GET {sh.failing_path} HTTP/1.1" 500', "KeyError: 'currency'")
    return Scenario("coding_session", "anthropic", "long multi-turn session mixing all kinds", c.finish(), needles)


BUILDERS: tuple[Callable[[Shared], Scenario], ...] = (
    grep_timeouts, read_argparse, read_two_sources, pip_inspect, pip_list_show, git_log_patch,
    git_diff_openai, pytest_failure, server_log, orders_json, find_listing, readme_prose, coding_session,
)
