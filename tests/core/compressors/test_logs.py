from __future__ import annotations

import re

import pytest

from headroom_core.compressors import Context
from headroom_core.compressors.logs import compress_logs
from headroom_core.config import Config
from tests.core.compressors.soundness import assert_kept_in_order, assert_sound, case, markers, non_marker_lines

CTX = Context(Config())


@pytest.mark.parametrize("name", ["pytest_one_failure.txt", "uvicorn_keyerror.txt", "compileall_syntax_error.txt"])
def test_kept_lines_are_verbatim_and_in_order(name: str) -> None:
    text = case("logs", name)
    out = assert_sound(compress_logs, text, CTX, name)
    assert_kept_in_order(out.text, text)


def test_pytest_failure_and_summary_survive() -> None:
    text = case("logs", "pytest_one_failure.txt")
    out = assert_sound(compress_logs, text, CTX, "pytest")
    for needle in (
        "tests/test_calc.py::test_parse_amount_rounding_edge FAILED               [100%]",
        ">       assert parse_amount(\"2.675\") == 2.68",
        "E       AssertionError: assert 2.67 == 2.68",
        "tests/test_calc.py:27: AssertionError",
        "FAILED tests/test_calc.py::test_parse_amount_rounding_edge - AssertionError: ...",
        "========================= 1 failed, 74 passed in 0.70s =========================",
    ):
        assert needle in out.text.split("\n")
    # The 40 passing parametrized cases fold into their first line and one marker that counts the rest.
    assert "39 more lines like the line above (lines 9-47)" in markers(out.text)


def test_buried_server_error_keeps_its_traceback() -> None:
    text = case("logs", "uvicorn_keyerror.txt")
    out = assert_sound(compress_logs, text, CTX, "uvicorn")
    kept = out.text.split("\n")
    for needle in (
        'INFO:     127.0.0.1:50056 - "GET /api/items/313 HTTP/1.1" 500 Internal Server Error',
        "ERROR:    Exception in ASGI application",
        "Traceback (most recent call last):",
        '  File "/tmp/hr/app.py", line 12, in item',
        "KeyError: 'discounted'",
        "INFO:     Finished server process [8113]",
    ):
        assert needle in kept
    # Every elided line is counted once, with the line numbers of the original.
    elided = 0
    for summary in markers(out.text):
        first, last = map(int, re.search(r"lines (\d+)-(\d+)", summary).groups())
        count = int(summary.split()[0])
        assert count == last - first + 1
        elided += count
    assert elided + len(non_marker_lines(out.text)) == len(text.split("\n"))


def test_syntax_error_of_a_build_is_kept() -> None:
    text = case("logs", "compileall_syntax_error.txt")
    out = assert_sound(compress_logs, text, CTX, "compileall")
    assert '***   File "cpl/middleware/_broken.py", line 1' in out.text
    assert "SyntaxError: invalid syntax" in out.text


def test_target_ratio_keeps_fewer_lines() -> None:
    text = case("logs", "uvicorn_keyerror.txt")
    default = compress_logs(text, CTX)
    generous = compress_logs(text, Context(Config(target_ratio=0.6)))
    assert default is not None and generous is not None
    assert len(non_marker_lines(generous.text)) > len(non_marker_lines(default.text))


def test_repeated_errors_fold_by_shape() -> None:
    text = "boot\n" + "".join(f"ERROR timeout talking to 10.0.0.{i % 250}:5432 after {i}ms\n" for i in range(300)) + "exit code 1"
    out = assert_sound(compress_logs, text, CTX, "repeated errors")
    assert len(out.text.split("\n")) < 20
    assert any("more error lines" in s for s in markers(out.text))
    assert out.text.endswith("exit code 1")


def test_without_retrieval_markers_carry_no_id() -> None:
    out = compress_logs(case("logs", "uvicorn_keyerror.txt"), Context(Config(ccr=False)))
    assert out is not None and out.originals == () and "retrieve id=" not in out.text


def test_short_lossless_and_marked_texts_are_left_alone() -> None:
    text = case("logs", "uvicorn_keyerror.txt")
    assert compress_logs("one\ntwo", CTX) is None
    assert compress_logs(text, Context(Config(), lossless_only=True)) is None
    assert compress_logs(text + "\n[[headroom: 3 rows elided]]", CTX) is None
