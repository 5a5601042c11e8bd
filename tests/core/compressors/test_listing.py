from __future__ import annotations

import re

import pytest

from headroom_core.compressors import Context
from headroom_core.compressors.listing import compress_listing
from headroom_core.config import Config
from tests.core.compressors.soundness import assert_sound, case, markers, non_marker_lines

CTX = Context(Config())


def paths_of(grouped: str) -> list[str]:
    """The paths a regrouped find listing stands for (`dir:` then names)."""
    out, directory = [], None
    for line in non_marker_lines(grouped):
        if not line:
            directory = None
        elif directory is None and line.endswith(":"):
            directory = line[:-1]
        else:
            out.append(f"{directory}/{line}" if directory else line)
    return out


@pytest.mark.parametrize("name", ["find_hypothesis.txt", "find_starlette.txt"])
def test_find_regrouped_by_directory_names_real_paths(name: str) -> None:
    text = case("listing", name)
    originals = set(text.split("\n"))
    out = compress_listing(text, CTX)
    assert out is not None
    if "[[headroom:" in out.text:
        assert_sound(compress_listing, text, CTX, name)
    for path in paths_of(out.text):
        assert path in originals
    # Every directory is still named once.
    headers = {line[:-1] for line in out.text.split("\n") if line.endswith(":")}
    parents = {line.rpartition("/")[0] for line in originals if "/" in line}
    assert parents <= headers


def test_query_keeps_the_file_it_names() -> None:
    text = case("listing", "find_hypothesis.txt")
    out = assert_sound(compress_listing, text, Context(Config(), query="open hypothesis/internal/conjecture/shrinking/ordering.py"), "find")
    assert "hypothesis/internal/conjecture/shrinking/ordering.py" in paths_of(out.text)


def test_markers_count_entries_by_extension() -> None:
    text = case("listing", "find_hypothesis.txt")
    out = assert_sound(compress_listing, text, CTX, "find hypothesis")
    total = sum(1 for line in text.split("\n") if line)
    dirs = {line.rpartition("/")[0] for line in text.split("\n") if "/" in line}
    entries = total - len(dirs & set(text.split("\n")))
    elided = sum(int(s.split()[0]) for s in markers(out.text))
    assert len(paths_of(out.text)) + elided == entries
    for summary in markers(out.text):
        count = int(summary.split()[0])
        kinds = re.findall(r"(\d+) (?:\.\w+|no extension|other)", summary)
        assert sum(map(int, kinds)) == count


def test_ls_la_keeps_its_lines_and_subdirectories() -> None:
    text = case("listing", "ls_la_stdlib.txt")
    out = assert_sound(compress_listing, text, Context(Config(), query="where is the json package"), "ls -la")
    lines = text.split("\n")
    for line in non_marker_lines(out.text):
        assert line in lines
    assert "total 5092" in out.text
    assert any(line.endswith(" json") and line.startswith("d") for line in out.text.split("\n"))
    assert re.search(r"\d+ more entries in this directory", out.text)


def test_ls_R_sections_keep_their_headers() -> None:
    text = case("listing", "ls_R_hypothesis.txt")
    out = compress_listing(text, CTX)
    if out is not None:
        headers = [line for line in text.split("\n") if line.endswith(":")]
        assert all(h in out.text.split("\n") for h in headers)


def test_not_a_listing_is_left_alone() -> None:
    assert compress_listing(case("logs", "pytest_one_failure.txt"), CTX) is None
    assert compress_listing(case("listing", "find_hypothesis.txt"), Context(Config(), lossless_only=True)) is None
