"""Real tool output produced on this machine: grep, file reads, pip, git, pytest, a server, find.

Every function runs the real tool (or reads the real file) and returns its text. Volatile
fields that would make two runs on the same machine differ (temp paths, ports, pids, durations)
are replaced by fixed values; everything else is the tool's own bytes. Listings are sorted.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from pathlib import Path

WORK_DIR = Path(os.environ.get("HEADROOM_BENCH_DIR", "/tmp/headroom-bench"))
SITE = Path(sysconfig.get_paths()["purelib"])
STDLIB = Path(sysconfig.get_paths()["stdlib"])

_ENV = {**os.environ, "LC_ALL": "C", "NO_COLOR": "1", "TERM": "dumb", "PYTHONHASHSEED": "0"}
_GIT_ENV = {
    "GIT_AUTHOR_NAME": "Ada Bench",
    "GIT_AUTHOR_EMAIL": "ada@example.invalid",
    "GIT_COMMITTER_NAME": "Ada Bench",
    "GIT_COMMITTER_EMAIL": "ada@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def run(cmd: list[str], cwd: Path | None = None, timeout: float = 60, env: dict[str, str] | None = None) -> str:
    """stdout and stderr of a command, interleaved as a terminal shows them."""
    proc = subprocess.run(
        cmd,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        timeout=timeout,
        env={**_ENV, **(env or {})},
        check=False,
    )
    return proc.stdout


def fresh_dir(name: str) -> Path:
    """An empty directory at a fixed path, so outputs that print it are the same every run."""
    path = WORK_DIR / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def head(text: str, max_lines: int) -> str:
    lines = text.splitlines()
    return "\n".join(lines[:max_lines])


def present(packages: tuple[str, ...]) -> list[str]:
    return [p for p in packages if (SITE / p).is_dir()]


def grep(pattern: str, packages: list[str], max_lines: int) -> str:
    """`grep -rn --include='*.py' PATTERN pkgs... | sort` from site-packages (relative paths)."""
    out = run(["grep", "-rn", "--include=*.py", "-e", pattern, *packages], cwd=SITE)

    def key(line: str) -> tuple[str, int]:
        path, _, rest = line.partition(":")
        num = rest.partition(":")[0]
        return (path, int(num) if num.isdigit() else 0)

    return "\n".join(sorted(out.splitlines(), key=key)[:max_lines])


def read_numbered(path: Path, max_lines: int) -> str:
    """A file as an agent's Read tool returns it: `cat -n` numbering, tab, the line."""
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()[:max_lines]
    return "\n".join(f"{n:>6}\t{line}" for n, line in enumerate(lines, start=1))


def find_files(packages: list[str], max_lines: int) -> str:
    """`find pkgs... -type f -not -path '*/__pycache__/*' | sort` from site-packages."""
    out = run(["find", *packages, "-type", "f", "-not", "-path", "*/__pycache__/*"], cwd=SITE)
    return "\n".join(sorted(out.splitlines())[:max_lines])


def pip(*args: str) -> str:
    return run([sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-color", *args])


def pip_inspect_installed(max_packages: int) -> str:
    """`pip inspect | jq '[.installed[] | del(.metadata.description)] | sort_by(.metadata.name)'`."""
    data = json.loads(pip("inspect"))
    rows = []
    for item in data.get("installed", []):
        item.get("metadata", {}).pop("description", None)
        rows.append(item)
    rows.sort(key=lambda r: str(r.get("metadata", {}).get("name", "")).lower())
    return json.dumps(rows[:max_packages], indent=2)


def readme(distribution: str) -> str:
    """A package's long description, as `pip show` points to it (its README)."""
    try:
        return importlib.metadata.metadata(distribution).get("Description") or ""
    except importlib.metadata.PackageNotFoundError:
        return ""


# --- git: a real history of real files -------------------------------------------------------

def vendor_history() -> tuple[Path, list[tuple[str, list[str]]]]:
    """A git repo whose commits are the files pip vendors, then the newer copies installed beside it.

    Returns the repo and, per commit, its subject and the paths it touched.
    """
    repo = fresh_dir("vendor-sync")
    pairs = [p for p in ("packaging", "requests", "idna", "certifi", "urllib3", "truststore")
             if (SITE / "pip" / "_vendor" / p).is_dir() and (SITE / p).is_dir()]
    git = _git(repo)
    git("init", "-q", "-b", "main")
    commits: list[tuple[str, list[str]]] = []
    for p in pairs:
        _copy_tree(SITE / "pip" / "_vendor" / p, repo / "vendor" / p)
    pip_version = importlib.metadata.version("pip")
    _commit(repo, f"Vendor {', '.join(pairs)} as shipped in pip {pip_version}", 1)
    commits.append((f"Vendor {', '.join(pairs)} as shipped in pip {pip_version}", pairs))
    for i, p in enumerate(pairs, start=2):
        shutil.rmtree(repo / "vendor" / p)
        _copy_tree(SITE / p, repo / "vendor" / p)
        if not git("status", "--porcelain").strip():
            continue
        try:
            version = importlib.metadata.version(p)
        except importlib.metadata.PackageNotFoundError:
            version = "installed"
        subject = f"Upgrade vendored {p} to {version}"
        _commit(repo, subject, i)
        commits.append((subject, [p]))
    return repo, commits


def _git(repo: Path):
    def git(*args: str) -> str:
        return run(["git", *args], cwd=repo, env=_GIT_ENV)
    return git


def _commit(repo: Path, subject: str, n: int) -> None:
    date = f"2025-03-{n:02d}T10:00:00+00:00"
    run(["git", "add", "-A"], cwd=repo, env=_GIT_ENV)
    run(["git", "commit", "-q", "-m", subject], cwd=repo,
        env={**_GIT_ENV, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date})


def _copy_tree(src: Path, dst: Path) -> None:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.so", "*.pem"))


# --- pytest: a real run with one failure -----------------------------------------------------

_MONEY = '''"""Money helpers for the invoices service."""
from decimal import Decimal, ROUND_HALF_EVEN


def to_cents(amount: str) -> int:
    return int((Decimal(amount) * 100).quantize(Decimal("1"), rounding=ROUND_HALF_EVEN))


def split_total(total_cents: int, parts: int) -> list[int]:
    """Split a total into `parts` shares that differ by at most one cent and add up to the total."""
    share = total_cents // parts
    return [share] * parts


def apply_discount(cents: int, percent: int) -> int:
    return cents - cents * percent // 100
'''

_TESTS = '''import pytest
from money import apply_discount, split_total, to_cents

AMOUNTS = [f"{d}.{c:02d}" for d in range(0, 60, 3) for c in (0, 1, 5, 49, 50, 99)]


@pytest.mark.parametrize("amount", AMOUNTS)
def test_to_cents_round_trips(amount):
    assert to_cents(amount) == int(amount.replace(".", ""))


@pytest.mark.parametrize("percent", range(0, 101, 5))
def test_apply_discount_never_negative(percent):
    assert apply_discount(10_000, percent) >= 0


@pytest.mark.parametrize("parts", [1, 2, 4, 5, 10])
def test_split_total_even(parts):
    assert sum(split_total(1000, parts)) == 1000


def test_split_total_keeps_remainder():
    shares = split_total(1001, 3)
    assert sum(shares) == 1001, f"split_total lost {1001 - sum(shares)} cent(s): {shares}"
'''


def pytest_run() -> tuple[str, str]:
    """`pytest -v` over a small project with one real bug; returns (output, failing test id)."""
    proj = fresh_dir("invoices")
    (proj / "money.py").write_text(_MONEY)
    (proj / "test_money.py").write_text(_TESTS)
    (proj / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    out = run([sys.executable, "-m", "pytest", "-v", "-p", "no:randomly", "test_money.py"], cwd=proj, timeout=120)
    out = re.sub(r"in [0-9.]+s", "in 0.42s", out)
    return out, "test_money.py::test_split_total_keeps_remainder"


# --- a real server and its log ----------------------------------------------------------------

def server_session(n_requests: int) -> tuple[str, str, str]:
    """Run benchmarks.corpus._server_app under uvicorn on loopback, send it traffic including one
    request that fails, and return (its log, the JSON of /api/orders, the failing path)."""
    port = _free_port()
    log_path = WORK_DIR / "server.log"
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    root = Path(__file__).resolve().parents[2]
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "benchmarks.corpus._server_app:app", "--host", "127.0.0.1",
             "--port", str(port), "--no-use-colors", "--log-level", "info"],
            cwd=root, stdout=log, stderr=subprocess.STDOUT, env={**_ENV, "PYTHONPATH": str(root)},
        )
    orders = ""
    failing = "/api/orders/4242"
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_up(base + "/healthz", proc)
        paths = _traffic(n_requests, failing)
        for path in paths:
            body = _get(base + path)
            if path.startswith("/api/orders?"):
                orders = body
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    text = log_path.read_text(errors="replace")
    text = text.replace(f"127.0.0.1:{port}", "127.0.0.1:8000")
    text = re.sub(r"127\.0\.0\.1:[0-9]+ - ", "127.0.0.1:51000 - ", text)
    text = re.sub(r"process \[[0-9]+\]", "process [4242]", text)
    text = text.replace(str(root), "/srv/app")
    return text, orders, failing


def _traffic(n: int, failing: str) -> list[str]:
    paths = []
    for i in range(n):
        if i == n * 2 // 3:
            paths.append(failing)
        elif i % 50 == 7:
            paths.append("/api/orders?limit=300")
        elif i % 9 == 4:
            paths.append(f"/api/customers/{1000 + i % 37}")
        elif i % 13 == 5:
            paths.append("/static/app.js")
        elif i % 31 == 11:
            paths.append(f"/api/orders/{9000 + i}")  # unknown: 404
        else:
            paths.append(f"/api/orders/{1000 + (i * 7) % 400}")
    return paths


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_up(url: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the benchmark server exited at start-up")
        try:
            _get(url)
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the benchmark server did not start within 20 s")


def _get(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.read().decode()
    except urllib.error.HTTPError as exc:
        body = exc.read().decode(errors="replace")
        exc.close()
        return body
