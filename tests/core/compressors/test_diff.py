from __future__ import annotations

import re

import pytest

from headroom_core.compressors import Context
from headroom_core.compressors.diff import compress_diff
from headroom_core.config import Config
from tests.core.compressors.soundness import assert_kept_in_order, assert_sound, case, markers

CTX = Context(Config())


@pytest.mark.parametrize("name", ["git_log_p_json.txt", "git_diff_src.txt", "git_show_lockfile.txt"])
def test_headers_and_changes_are_kept_verbatim(name: str) -> None:
    text = case("diff", name)
    out = assert_sound(compress_diff, text, CTX, name)
    assert_kept_in_order(out.text, text)
    kept = set(out.text.split("\n"))
    for line in text.split("\n"):
        if line.startswith(("diff --git ", "commit ", "Author: ", "index ")):
            assert line in kept


def test_small_edits_keep_every_changed_line() -> None:
    text = case("diff", "git_log_p_json.txt")
    out = assert_sound(compress_diff, text, Context(Config(), query="why does the encoder reject a negative indent"), "log -p")
    kept = out.text.split("\n")
    for needle in (
        '+            raise ValueError("indent must be >= 0")',
        "-def _decode_uXXXX(s, pos):",
        "+def _decode_uXXXX(s, pos, strict=True):",
        "+    def _wrap_chunks(self, chunks: list[str]) -> list[str]:",
        "    encoder: reject negative indent",
    ):
        assert needle in kept


def test_lockfile_and_deleted_file_become_counted_markers() -> None:
    text = case("diff", "git_show_lockfile.txt")
    out = assert_sound(compress_diff, text, CTX, "show")
    summaries = markers(out.text)
    assert "1 hunk elided (+605 -0 lines; lockfile or generated)" in summaries
    assert "1 hunk elided (+0 -73 lines; file deleted)" in summaries
    assert "diff --git a/src/scanner.py b/src/scanner.py" in out.text


def test_a_file_the_query_names_is_kept_whole() -> None:
    text = case("diff", "git_show_lockfile.txt")
    out = compress_diff(text, Context(Config(), query="what did the commit remove from src/scanner.py?"))
    assert out is not None
    start = text.index("diff --git a/src/scanner.py")
    assert text[start:] in out.text


def test_context_markers_count_the_trimmed_lines() -> None:
    text = case("diff", "git_diff_src.txt")
    out = assert_sound(compress_diff, text, CTX, "diff")
    for summary in markers(out.text):
        m = re.fullmatch(r"(\d+) unchanged lines \(new lines (\d+)-(\d+)\)", summary)
        if m:
            assert int(m[1]) == int(m[3]) - int(m[2]) + 1


def test_target_ratio_caps_big_hunks() -> None:
    text = case("diff", "git_show_lockfile.txt")
    out = compress_diff(text, Context(Config(target_ratio=0.1), query="package-lock.json"))
    assert out is not None  # the named lockfile is kept whole even under a tight ratio
    assert '+  "lockfileVersion": 3,' in out.text


def test_not_a_diff_is_left_alone() -> None:
    assert compress_diff(case("logs", "pytest_one_failure.txt"), CTX) is None
    assert compress_diff(case("diff", "git_diff_src.txt"), Context(Config(), lossless_only=True)) is None
