"""The table compressor: header, asked rows and rare-status rows stay verbatim; the rest is one marker away.

Cases in tests/cases/table are real output of this machine: `pip list`, `ps` with the columns of
`ps aux` (command names only, no arguments or environment), `df -h`, and `pip inspect` / `pip list
--format=json` written out as CSV and as a markdown table.
"""

from __future__ import annotations

import pytest

from headroom_core import MARKER_PATTERN, Kind, compress, retrieve
from headroom_core.compressors import Compressed, Context
from headroom_core.compressors.table import compress_table
from headroom_core.config import Config
from headroom_core.router import detect_kind
from tests.core.compressors.soundness import assert_smaller_and_stable, case, markers, non_marker_lines

# (case, question, header lines, the row the question asks about)
ASKED = [
    (
        "pip_list.txt",
        "which version of propcache is installed?",
        ("Package                Version          Editable project location", "---------------------- ---------------- -------------------------"),
        "propcache              0.5.4",
    ),
    (
        "pip_inspect.csv.txt",
        "what Python does pydantic_core require?",
        ("name,version,requires_python,metadata_version,installer",),
        "pydantic_core,2.50.5,>=3.10,2.4,pip",
    ),
    ("pip_list_markdown.txt", "is pytest-timeout installed?", ("| name | version |", "| --- | --- |"), "| pytest-timeout | 2.4.0 |"),
    (
        "ps_aux.txt",
        "what is kworker/R-writeback doing?",
        ("USER       PID %CPU %MEM    VSZ   RSS TT       STAT  STARTED     TIME COMMAND",),
        "root        34  0.0  0.0      0     0 ?        I<   11:03:49 00:00:00 kworker/R-writeback",
    ),
]


def _sound(text: str, ctx: Context, label: str) -> Compressed:
    """Like soundness.assert_sound, for a compressor with one marker carrying the id and short
    id-less markers where rows are missing (the JSON crusher's form)."""
    out = assert_smaller_and_stable(compress_table, text, ctx, label)
    ids = [m["id"] for m in MARKER_PATTERN.finditer(out.text) if m["id"]]
    assert ids == [rid for rid, _ in out.originals]
    for rid, _ in out.originals:
        assert retrieve(dict(out.originals), rid) == text
    return out


def _conversation(text: str, question: str) -> list[dict]:
    return [
        {"role": "user", "content": question},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "run it"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": text}]},
    ]


@pytest.mark.parametrize("name", ["pip_list.txt", "pip_inspect.csv.txt", "pip_list_markdown.txt", "ps_aux.txt", "df_h.txt"])
def test_real_tables_are_detected_as_tables(name: str) -> None:
    assert detect_kind(case("table", name)) is Kind.TABLE


@pytest.mark.parametrize("name,question,header,row", ASKED, ids=[a[0] for a in ASKED])
def test_header_and_asked_row_stay_verbatim_in_order(name: str, question: str, header: tuple[str, ...], row: str) -> None:
    text = case("table", name)
    out = _sound(text, Context(Config(), query=question), name)
    lines = out.text.split("\n")
    assert lines[0 : len(header) + 1][1:] == list(header)
    assert row in lines
    # Every line that is not a marker is one of the tool's own lines, in the tool's order.
    original = text.split("\n")
    positions = [original.index(line) for line in non_marker_lines(out.text)]
    assert positions == sorted(positions)
    # One marker carries the counts and the retrieval id; the short ones between rows carry none.
    ids = [m["id"] for m in MARKER_PATTERN.finditer(out.text)]
    assert len([i for i in ids if i]) == 1
    assert "rows elided (kept" in markers(out.text)[0]


def test_rare_status_rows_are_kept_without_a_query() -> None:
    text = case("table", "ps_aux.txt")
    out = _sound(text, Context(Config()), "ps, no query")
    # ksmd and khugepaged are the only processes in state SN.
    assert "root        37  0.0  0.0      0     0 ?        SN   11:03:49 00:00:00 ksmd" in out.text
    assert "root        38  0.0  0.0      0     0 ?        SN   11:03:49 00:00:00 khugepaged" in out.text
    assert "rare values" in out.reason and "elided by STAT" in out.reason


def test_failing_statuses_are_kept_and_counted() -> None:
    header = "NAME                         READY   STATUS             RESTARTS   AGE"
    pods = [f"api-{i:03d}-7d4b9c                  1/1     Running            0          3d" for i in range(120)]
    pods[41] = "api-041-7d4b9c                  0/1     CrashLoopBackOff   57         3d"
    pods[77] = "api-077-7d4b9c                  0/1     Error              1          3d"
    text = "\n".join([header, *pods])
    out = _sound(text, Context(Config()), "kubectl get pods")
    assert pods[41] in out.text and pods[77] in out.text
    assert "errors" in out.reason


def test_small_tables_are_untouched() -> None:
    text = case("table", "df_h.txt")
    assert compress_table(text, Context(Config())) is None
    messages = _conversation(text, "how full is /?")
    assert compress(messages).messages == messages


def test_tsv_rows_are_selected_too() -> None:
    text = case("table", "pip_inspect.csv.txt").replace(",", "\t")
    out = _sound(text, Context(Config(), query="pydantic_core"), "tsv")
    assert out.reason.startswith("TSV: ")
    assert "pydantic_core\t2.50.5\t>=3.10\t2.4\tpip" in out.text


@pytest.mark.parametrize("name,question,header,row", ASKED, ids=[a[0] for a in ASKED])
def test_through_compress_retrieve_gives_back_the_exact_original(name: str, question: str, header: tuple[str, ...], row: str) -> None:
    text = case("table", name)
    messages = _conversation(text, question)
    first = compress(messages)
    new_text = first.messages[2]["content"][0]["content"]
    assert new_text != text and row in new_text
    assert [d.kind for d in first.decisions if d.action == "compressed"] == [Kind.TABLE]
    (rid,) = {m["id"] for m in MARKER_PATTERN.finditer(new_text) if m["id"]}
    assert retrieve(first.originals, rid) == text
    # Deterministic, and idempotent: what came out goes through unchanged.
    assert compress(messages).messages == first.messages
    assert compress(first.messages).messages == first.messages


def test_lossless_only_leaves_tables_alone() -> None:
    text = case("table", "pip_list.txt")
    assert compress_table(text, Context(Config(), lossless_only=True)) is None


def test_a_tsv_whose_first_column_is_a_number_is_a_table():
    # Numbered file reads are told apart by the router (padded numbers, an arrow, tabs that vary),
    # so a TSV keyed by an id is compressed like any other table.
    rows = [f"{i}\tsvc-{i}\t{'failed' if i == 57 else 'ok'}\t{100 + i % 9}" for i in range(1, 201)]
    text = "\n".join(["id\tname\tstatus\tlatency_ms", *rows])
    assert detect_kind(text) is Kind.TABLE
    out = compress_table(text, Context(Config(), query="why is svc-120 slow?"))
    assert out is not None and out.kind is Kind.TABLE
    assert "57\tsvc-57\tfailed\t103" in out.text and "120\tsvc-120\tok\t103" in out.text
