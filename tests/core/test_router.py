"""The router: real tool output is classified by its shape, and the smaller valid rewrite wins."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from headroom_core import MARKER_PATTERN, Action, Kind, compress
from headroom_core.compressors import Context
from headroom_core.config import Config
from headroom_core.router import detect_kind, route

CASES = sorted((Path(__file__).parent.parent / "cases" / "router").glob("*.txt"))


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_real_tool_output_is_classified(path):
    expected = Kind(path.name.split("__", 1)[0])
    assert detect_kind(path.read_text()) is expected


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("", Kind.TEXT),
        ('  [{"a": 1}]\n', Kind.JSON),
        ("src/app.py:12:    return 1\nsrc/db.py:3:import os\nsrc/db.py:9:def connect():", Kind.SEARCH),
        ("src/a.c:3:5: error: expected ';'\nsrc/a.c:9:1: warning: unused\nmake: *** [all] Error 1", Kind.LOG),
        (".\n├── a.py\n└── pkg\n    └── b.py", Kind.LISTING),
        ("name,version,size\nhttpx,0.28.1,1200\nrich,13.9.4,880\nclick,8.1.7,410", Kind.TABLE),
        ("| name | version |\n|------|---------|\n| httpx | 0.28 |\n| rich | 13 |", Kind.TABLE),
        ("--- a/x.py\n+++ b/x.py\n@@ -1,2 +1,2 @@\n-a = 1\n+a = 2\n b = 3", Kind.DIFF),
        ("2026-03-01 10:00:01 INFO boot\n2026-03-01 10:00:02 ERROR db down\n2026-03-01 10:00:03 INFO retry", Kind.LOG),
        # File reads with line numbers are files, not tables: cat -n, and an agent's Read tool.
        ("     1\timport os\n     2\t\n     3\tdef main():\n     4\t    return 0", Kind.CODE),
        ("     1→import os\n     2→\n     3→def main():\n     4→    return 0", Kind.CODE),
        ("100000\timport os\n100001\t\n100002\tdef main():\n100003\t    return 0", Kind.CODE),
        # ... while a TSV whose first column is a number is still a table.
        ("id\tname\tstatus\n1\tapi\tok\n2\tdb\tok\n3\tcache\tfailed", Kind.TABLE),
        ("tests/test_calc.py::test_add PASSED  [ 50%]\ntests/test_calc.py::test_sub FAILED  [100%]\n1 failed, 1 passed", Kind.LOG),
        # A Markdown document opening with a badge or a link is prose, not JSON; JSON still is JSON.
        ("[![CI](https://ci.example/badge.svg)](https://ci.example)\n\n# Tool\n\nTool is a library for parsing things. "
         "It is fast and it is small, and it has no dependencies at all.\n\n## Install\n\nInstall it with pip, then import it. "
         "The docs explain the rest of the interface in detail.\n\nSee the [docs](https://docs.example) for more about it.\n"
         "It works on every platform that runs Python, and it is tested on all of them.\n[License](LICENSE)", Kind.PROSE),
        ('["alpha", "beta"]', Kind.JSON),
        ("[\n  true,\n  null\n]", Kind.JSON),
        # Timestamps read like `path:line:` but are log lines.
        ("2026-11-27T09:00:01Z INFO worker-1 ok\n2026-11-27T09:00:02Z ERROR worker-2 db down\n2026-11-27T09:00:03Z INFO ok", Kind.LOG),
        ("[09:00:01] INFO worker-1 ok\n[09:00:02] ERROR worker-2 db down\n[09:00:03] INFO worker-3 ok", Kind.LOG),
    ],
)
def test_shapes(text, kind):
    assert detect_kind(text) is kind


def test_detection_reads_a_bounded_sample():
    # A log followed by a megabyte of anything is still a log: only the head is read.
    text = "\n".join(f"2026-03-01 10:00:{i % 60:02d} INFO tick {i}" for i in range(300)) + "\n" + "x" * 1_000_000
    assert detect_kind(text) is Kind.LOG


def _rows(n: int) -> str:
    return json.dumps([{"id": i, "status": "ok" if i != 7 else "error", "note": f"row {i}"} for i in range(n)], indent=2)


def test_lossless_only_never_writes_a_marker():
    out = route(_rows(300), Context(Config(), lossless_only=True))
    assert out is not None and out.action is Action.COMPACTED and not MARKER_PATTERN.search(out.text)


def test_lossy_wins_when_it_is_clearly_smaller():
    out = route(_rows(300), Context(Config()))
    assert out.action is Action.COMPRESSED and "7,error,row 7" in out.text


def test_lossless_wins_when_lossy_barely_helps():
    # 20 rows: the crusher would keep 10 of 20 behind markers, the table alone is nearly as small.
    out = route(_rows(20), Context(Config()))
    assert out is None or out.action is Action.COMPACTED


def test_code_gets_lossless_only():
    code = next(p for p in CASES if p.name.startswith("code__")).read_text()
    out = route(code, Context(Config()))
    assert out is None or out.action is Action.COMPACTED


def test_headroom_output_is_never_routed_again():
    out = route(_rows(300), Context(Config()))
    assert route(out.text, Context(Config())) is None


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_real_samples_through_compress_never_grow_and_are_idempotent(path):
    messages = [
        {"role": "user", "content": "what went wrong?"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "run"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": path.read_text()}]},
    ]
    first = compress(messages)
    assert first.tokens_after <= first.tokens_before
    again = compress(first.messages)
    assert again.messages == first.messages
    assert compress(messages).messages == first.messages


@pytest.mark.parametrize("stamp", ["2026-11-27T09:{m:02d}:{s:02d}Z", "[09:{m:02d}:{s:02d}]", "2026-11-27 09:{m:02d}:{s:02d},123"])
def test_error_lines_of_a_timestamped_log_survive(stamp):
    lines = [f"{stamp.format(m=i // 60, s=i % 60)} INFO worker-{i % 7} handled request {i} in {i % 13} ms" for i in range(360)]
    lines[100] = f"{stamp.format(m=1, s=40)} ERROR worker-3 database connection refused (attempt 3)"
    lines[250] = f"{stamp.format(m=4, s=10)} ERROR worker-5 payment 4411 failed: card declined"
    out = route("\n".join(lines), Context(Config()))
    assert out is not None and out.kind is Kind.LOG
    assert lines[100] in out.text and lines[250] in out.text


def test_a_harness_header_is_kept_and_the_output_under_it_routed():
    # Codex's exec_command wraps output in a header; the JSON under it is still JSON.
    rows = json.dumps([{"id": i, "name": f"user{i}", "ok": True} for i in range(120)], indent=2)
    head = "Chunk ID: 442a16\nWall time: 0.0000 seconds\nProcess exited with code 0\nOriginal token count: 7142\nOutput:\n"
    out = route(head + rows, Context(Config()))
    assert out is not None and out.text.startswith(head) and out.text[len(head):].startswith("[[headroom table")
    assert route(head + "hello", Context(Config())) is None
