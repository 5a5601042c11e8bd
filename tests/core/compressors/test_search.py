from __future__ import annotations

import re

import pytest

from headroom_core.compressors import Context
from headroom_core.compressors.search import compress_search
from headroom_core.config import Config
from tests.core.compressors.soundness import assert_sound, case, markers, non_marker_lines

CTX = Context(Config())


def flat_lines(grouped: str) -> list[str]:
    """The grep lines a grouped output stands for: `path:n:text` and `path-n-text`."""
    out, path = [], None
    for line in non_marker_lines(grouped):
        if not line:
            path = None
        elif line == "--":
            continue
        elif path is None:
            path = line
        else:
            m = re.fullmatch(r"(\d+)([:-])(.*)", line)
            out.append(f"{path}{m[2]}{m[1]}{m[2]}{m[3]}")
    return out


@pytest.mark.parametrize(
    "name,query",
    [
        ("grep_json_defs.txt", "how does the decoder handle py_scanstring"),
        ("grep_httpx_defs.txt", "where is _send_single_request defined"),
        ("grep_httpx_timeout_context.txt", "which exception is raised on a pool timeout"),
    ],
)
def test_grouped_lines_are_the_tools_own(name: str, query: str) -> None:
    text = case("search", name)
    out = assert_sound(compress_search, text, Context(Config(), query=query), name)
    originals = set(text.split("\n"))
    for line in flat_lines(out.text):
        assert line in originals


def test_query_identifier_is_kept_with_its_line_number() -> None:
    text = case("search", "grep_httpx_defs.txt")
    out = assert_sound(compress_search, text, Context(Config(), query="where is _send_single_request defined"), "rg")
    grouped = out.text.split("\n\n")
    client = next(block for block in grouped if block.startswith("httpx/_client.py\n"))
    assert "1001:    def _send_single_request(self, request: Request) -> Response:" in client
    assert "1717:    async def _send_single_request(self, request: Request) -> Response:" in client


def test_markers_count_every_dropped_match() -> None:
    text = case("search", "grep_httpx_defs.txt")
    out = assert_sound(compress_search, text, CTX, "grep defs, no query")
    total = sum(1 for line in text.split("\n") if re.match(r"[^:]+:\d+:", line))
    kept = sum(1 for line in flat_lines(out.text))
    per_file = sum(int(s.split()[0]) for s in markers(out.text) if "in this file" in s)
    overall = markers(out.text)[-1]
    assert overall.startswith(f"kept {kept} of {total} matches")
    dropped_files = re.search(r"(\d+) more files? with (\d+) match", overall)
    assert kept + per_file + (int(dropped_files[2]) if dropped_files else 0) == total


def test_file_named_by_the_query_keeps_more() -> None:
    text = case("search", "grep_httpx_defs.txt")
    plain = compress_search(text, CTX)
    named = compress_search(text, Context(Config(), query="list the functions in _urlparse.py"))
    assert plain is not None and named is not None
    count = lambda out: sum(1 for line in flat_lines(out.text) if line.startswith("httpx/_urlparse.py:"))
    assert count(named) > count(plain)
    assert count(named) == sum(1 for line in text.split("\n") if line.startswith("httpx/_urlparse.py:"))


def test_rg_heading_mode_is_read_and_kept_in_its_form() -> None:
    flat = case("search", "grep_httpx_defs.txt")
    heading = compress_search(flat, Context(Config(ccr=False, target_ratio=1.0)))
    assert heading is not None and heading.text.startswith("[[headroom grouped by file")
    rg_output = heading.text.partition("\n")[2]  # what `rg --heading` prints
    assert "[[headroom" not in rg_output  # regrouped only
    assert compress_search(heading.text, Context(Config(ccr=False))) is None  # never regrouped twice
    out = compress_search(rg_output, Context(Config(ccr=False)))
    assert out is not None
    assert set(flat_lines(out.text)) <= set(flat.split("\n"))


def test_target_ratio_sets_the_overall_cap() -> None:
    text = case("search", "grep_httpx_defs.txt")
    small = compress_search(text, Context(Config(target_ratio=0.05)))
    large = compress_search(text, Context(Config(target_ratio=0.5)))
    assert small is not None and large is not None
    assert len(flat_lines(small.text)) < len(flat_lines(large.text))


def test_not_search_output_is_left_alone() -> None:
    assert compress_search(case("logs", "uvicorn_keyerror.txt"), CTX) is None
    assert compress_search(case("search", "grep_json_defs.txt"), Context(Config(), lossless_only=True)) is None


def test_pytest_output_is_not_taken_for_search_results() -> None:
    # Node ids ("path::test") look like `path:text`; dropping them would drop the failure summary.
    assert compress_search(case("logs", "pytest_one_failure.txt"), CTX) is None
