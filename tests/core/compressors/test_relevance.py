"""Query relevance (shared by search, listing, diff, logs, JSON rows and tables), tested through the compressors.

Each test pins one fix: numbers of three or more digits are anchors; anchors match whole tokens
("user4" is not in "user42"); a line is read past its first 400 characters; only the values of a
tool call's arguments count, with their path and identifier pieces, never the keys.
"""

from __future__ import annotations

import json

import pytest

from headroom_core.compressors import Context
from headroom_core.compressors.json_crusher import compress_json
from headroom_core.compressors.logs import compress_logs
from headroom_core.compressors.search import compress_search
from headroom_core.compressors.table import compress_table
from headroom_core.config import Config
from tests.core.compressors.soundness import assert_sound

FILES = 30
PER_FILE = 6  # more than search's per-file cap, so the last match of a file goes unless something keeps it


def _grep(text_for) -> tuple[str, dict[tuple[int, int], str]]:
    """grep -rn output over FILES files, PER_FILE matches each; `text_for(f, k)` gives the match text."""
    lines = {}
    for f in range(FILES):
        for k in range(PER_FILE):
            lines[(f, k)] = f"src/service_{f:02d}.py:{10 * k + 3}:{text_for(f, k)}"
    return "\n".join(lines.values()), lines


def _ctx(question: str, tool_args: dict | None = None) -> Context:
    if tool_args is None:
        return Context(Config(), query=question)
    args = json.dumps(tool_args)
    # As the pipeline builds it: the user text, then the call's arguments.
    return Context(Config(), query=f"{question}\n{args}", tool_name="Grep", tool_args=args)


def _kept(out_text: str, grep_line: str) -> bool:
    """Whether a `path:n:text` line survives in the grouped output (its `n:text` under its path)."""
    path, line, text = grep_line.split(":", 2)
    block = next((b for b in out_text.split("\n\n") if b.startswith(path + "\n")), "")
    return f"{line}:{text}" in block.split("\n")


# Gap 1: numbers of three or more digits are anchors, and match as whole numbers only.


def test_a_number_the_question_names_keeps_its_line() -> None:
    def text(f: int, k: int) -> str:
        if (f, k) == (3, 5):
            return "    listen(port=19161)"
        if (f, k) == (4, 5):
            return "    listen(port=9161.5)"
        return f"    listen(port={9000 + f * PER_FILE + k})"

    grep, lines = _grep(text)
    out = assert_sound(compress_search, grep, _ctx("which service listens on port 9161?"), "port")
    assert _kept(out.text, lines[(26, 5)])  # port=9161, the 6th match of its file
    assert not _kept(out.text, lines[(3, 5)]) and not _kept(out.text, lines[(4, 5)])


def test_a_request_id_the_question_names_keeps_its_log_line() -> None:
    log = [f"2026-03-01 12:00:{i % 60:02d} INFO GET /api/orders/{48000 + i} 200 {5 + i % 7}ms" for i in range(400)]
    log.insert(250, "2026-03-01 12:04:10 INFO GET /api/orders/48213 200 950ms")
    text = "\n".join(log)
    out = assert_sound(compress_logs, text, _ctx("why was order 48213 so slow?"), "log")
    assert "2026-03-01 12:04:10 INFO GET /api/orders/48213 200 950ms" in out.text


# Gap 2: anchors match whole identifiers, paths and numbers, not substrings.


def test_an_identifier_does_not_pin_longer_ones_that_start_with_it() -> None:
    def text(f: int, k: int) -> str:
        if (f, k) == (17, 5):
            return '    grant("user4", role="reader")'
        if k >= 3:  # 90 lines name user40..user49: substring matching would pin them all
            return f'    grant("user4{(f + k) % 10}", role="reader")'
        return f'    grant("svc{f}{k}", role="reader")'

    grep, lines = _grep(text)
    out = assert_sound(compress_search, grep, _ctx("why does user4 get reader access?"), "user4")
    assert _kept(out.text, lines[(17, 5)])
    kept_user4x = [key for key, line in lines.items() if key != (17, 5) and "user4" in line and _kept(out.text, line)]
    assert len(kept_user4x) <= 40  # the plain cap; pinned as anchors they would be 80


def test_json_rows_and_table_rows_match_whole_identifiers() -> None:
    rows = [{"user": f"user{i}", "status": "active", "logins": 3} for i in range(200)]
    out = compress_json(json.dumps(rows), Context(Config(), query="what about user4?"))
    assert "user4,active,3" in out.text
    assert "query" in out.reason and "(kept 40: 1 query," in out.reason
    table = "user,status,logins\n" + "\n".join(f"user{i},active,3" for i in range(200))
    out = compress_table(table, Context(Config(), query="what about user4?"))
    assert "\nuser4,active,3\n" in out.text and "(kept 40: 1 query," in out.reason


# Gap 3: a line is read past its first 400 characters.


@pytest.mark.parametrize("needle,question", [("frobnicate", "where is frobnicate passed?"), ("frob_handler", "where is frob_handler passed?")])
def test_a_needle_far_into_a_long_line_is_found(needle: str, question: str) -> None:
    def text(f: int, k: int) -> str:
        args = ", ".join(f"arg{n}" for n in range(120))  # ~900 characters
        extra = f", {needle}" if (f, k) == (22, 5) else ""
        return f"    dispatch({args}{extra})"

    grep, lines = _grep(text)
    out = assert_sound(compress_search, grep, _ctx(question), needle)
    assert _kept(out.text, lines[(22, 5)])


# Gap 4: tool-argument keys are not anchors; their values and the values' pieces are.


def test_argument_keys_are_not_anchors() -> None:
    def text(f: int, k: int) -> str:
        if k == 5 and f >= 20:
            return "    with open(file_path) as fh:  # command"
        return f"    with open(path_{f}_{k}) as fh:"

    grep, lines = _grep(text)
    args = {"command": "grep -rn open src", "file_path": "src", "cmd": "rg open"}
    out = assert_sound(compress_search, grep, _ctx("where do we open files?", args), "keys")
    assert not any(_kept(out.text, lines[(f, 5)]) for f in range(20, FILES))


def test_an_argument_path_names_its_file_by_its_pieces() -> None:
    def text(f: int, k: int) -> str:
        return f"    open(path_{f}_{k})"

    grep, lines = _grep(text)
    args = {"pattern": "open(", "path": "/home/dev/repo/src/service_23.py"}
    out = assert_sound(compress_search, grep, _ctx("what does this open?", args), "path piece")
    # The relative grep path and the absolute argument share the file name: the whole file stays.
    assert all(_kept(out.text, lines[(23, k)]) for k in range(PER_FILE))

