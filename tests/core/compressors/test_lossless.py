"""Lossless compaction: every form round-trips exactly, never grows, and is deterministic."""

from __future__ import annotations

import doctest
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import headroom_core.compressors.lossless as lossless_module
from headroom_core.compressors import Context
from headroom_core.compressors.lossless import (
    compact_json,
    compact_lossless,
    expand_lossless,
    fold_path_prefix,
    fold_repeats,
    parse_table,
    render_table,
    unfold_path_prefix,
    unfold_repeats,
)
from headroom_core.config import Config
from headroom_core.markers import MARKER_PATTERN
from headroom_core.result import Action, Kind
from headroom_core.tokens import count_tokens

CTX = Context(Config())


def same(a: object, b: object) -> bool:
    """Equal with identical types and key order: what `==` alone cannot see (1 == 1.0 == True)."""
    return json.dumps(a) == json.dumps(b) and _types(a) == _types(b)


def _types(value: object) -> object:
    if isinstance(value, dict):
        return [(k, _types(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [_types(v) for v in value]
    if isinstance(value, float):
        return ("float", math.copysign(1.0, value))
    return type(value).__name__


def realistic_rows(n: int) -> list[dict[str, object]]:
    statuses = ("active", "pending", "disabled", "active", "active")
    tags = (["admin"], [], ["beta", "early-access"], ["billing"], ["support", "vip"])
    first = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken")
    last = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Thompson")
    return [
        {
            "id": 10_000 + i,
            "name": f"{first[i % 8]} {last[(i * 3) % 8]}",
            "email": f"{first[i % 8].lower()}.{last[(i * 3) % 8].lower()}{i}@example.com",
            "status": statuses[i % 5],
            "score": round(50 + (i * 37 % 500) / 10, 1),
            "tags": tags[i % 5],
            "created_at": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z",
            "manager_id": None if i % 3 else 10_000 + i // 3,
            "deleted_at": None,
            "verified": i % 4 != 0,
        }
        for i in range(n)
    ]


# ---------------------------------------------------------------- compact JSON


def test_compact_json_keeps_value_types_and_key_order() -> None:
    value = {"b": 1, "a": [1.0, True, None, "x y"], "é": {"z": -0.0, "n": 10**30}}
    text = json.dumps(value, indent=2, ensure_ascii=False)
    out = compact_json(text)
    assert out == '{"b":1,"a":[1.0,true,null,"x y"],"é":{"z":-0.0,"n":1000000000000000000000000000000}}'
    assert same(json.loads(out), json.loads(text))


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1, "a": 2}',  # duplicate keys: compacting would silently drop one
        '{"a": NaN, "b": 1}',
        '[Infinity, 1, 2, 3]',
        '[1e400, 1, 2, 3]',  # parses to inf, which JSON cannot write
        '{"a":1}',  # already compact: not shorter
        "not json at all",
        '{"a": 1,',
    ],
)
def test_compact_json_refuses(text: str) -> None:
    assert compact_json(text) is None


# ---------------------------------------------------------------- tables


def test_table_format_and_cell_encoding() -> None:
    rows = [
        {"id": 1, "name": "Ada Lovelace", "note": "", "x": None, "n": 2.0, "ok": True, "tags": ["a", "b"]},
        {"id": 2, "name": "null", "note": " padded ", "x": "1", "n": 2, "ok": "true", "tags": {"k": [1]}},
        {"id": 3, "name": "a,b", "note": 'say "hi"', "x": "line\nbreak", "n": -0.5, "ok": False, "tags": []},
    ]
    out = render_table(rows)
    assert out == "\n".join(
        [
            "[[headroom table: 3 rows; cells are JSON values, bare words are strings]]",
            "id,name,note,x,n,ok,tags",
            '1,Ada Lovelace,"",null,2.0,true,["a","b"]',
            '2,"null"," padded ","1",2,"true",{"k":[1]}',
            '3,"a,b","say \\"hi\\"","line\\nbreak",-0.5,false,[]',
        ]
    )
    assert same(parse_table(out), rows)


def test_object_with_tables_round_trips() -> None:
    value = {
        "total": 200,
        "items": realistic_rows(5),
        "next": None,
        "weird key, with comma": [{"a": 1}, {"a": 2}],
        "not a table": [{"a": 1}, {"b": 2}],
    }
    out = render_table(value)
    assert out is not None
    lines = out.split("\n")
    assert lines[0] == '[[headroom json with tables: a "@table" value stands for the table of that key below]]'
    assert lines[1] == (
        '{"total":200,"items":"@table","next":null,"weird key, with comma":"@table","not a table":[{"a":1},{"b":2}]}'
    )
    assert lines[2] == "[[headroom table items: 5 rows; cells are JSON values, bare words are strings]]"
    assert '[[headroom table "weird key, with comma": 2 rows; cells are JSON values, bare words are strings]]' in lines
    assert same(parse_table(out), value)
    assert json.loads(expand_lossless(out)) == value


@pytest.mark.parametrize(
    "value",
    [
        [{"a": 1}],  # one row
        [{"a": 1}, {"b": 1}],  # different keys
        [{"a": 1, "b": 2}, {"b": 2, "a": 1}],  # same keys, different order
        [{}, {}],  # no columns
        [{"a": 1}, [1]],
        [{"a": float("nan")}, {"a": 1}],
        {"total": "@table", "items": [{"a": 1}, {"a": 2}]},  # a plain value collides with the slot
        {"total": 3},
        "text",
        [{"a": (1, 2)}, {"a": 1}],  # not a JSON value: a tuple would come back as a list
    ],
)
def test_render_table_refuses(value: object) -> None:
    assert render_table(value) is None


@pytest.mark.parametrize(
    "text",
    [
        "[[headroom table: 3 rows; cells are JSON values, bare words are strings]]\na\n1\n2",  # too few rows
        "[[headroom table: 1 rows; cells are JSON values, bare words are strings]]\na,b\n1",  # too few cells
        "[[headroom table: 1 rows; cells are JSON values, bare words are strings]]\na\n1,",  # empty cell
        "[[headroom table: 1 rows; cells are JSON values, bare words are strings]]\na\n1\nextra",
        "[[headroom table: 1 rows; cells are JSON values, bare words are strings]]\na,a\n1,2",
        "plain text",
    ],
)
def test_parse_table_rejects_what_render_table_never_writes(text: str) -> None:
    with pytest.raises(ValueError):
        parse_table(text)


# ---------------------------------------------------------------- repeated lines


def test_fold_repeats_format_and_round_trip() -> None:
    text = "start\n" + "GET /health 200\n" * 37 + "\n\n\n\nend\n"
    out = fold_repeats(text)
    assert out == (
        '[[headroom folded: a line ending in "  [xN]" stands for N identical lines]]\n'
        "start\nGET /health 200  [x37]\n\n\n\n\nend\n"
    )
    assert unfold_repeats(out) == text


@pytest.mark.parametrize(
    "text",
    [
        "a\nb\nc\n" * 10,  # no run of identical consecutive lines
        "x\nx\nx\nx",  # a run, but the header costs more than it saves
        "ok  [x3]\n" + "tick\n" * 50,  # a line already looks folded: the inverse would be ambiguous
    ],
)
def test_fold_repeats_refuses(text: str) -> None:
    assert fold_repeats(text) is None


# ---------------------------------------------------------------- path prefixes


def test_fold_path_prefix_format_and_round_trip() -> None:
    base = "/home/ada/code/headroom/headroom_core/compressors/"
    names = ["json", "logs", "lossless", "diff"]
    text = "\n".join(f"{base}{name}.py:{i}:    return x" for i, name in enumerate(names))
    text += "\nBinary file matches\n"
    out = fold_path_prefix(text)
    assert out == (
        f'[[headroom paths: "…/" at the start of a line stands for {base}]]\n'
        "…/json.py:0:    return x\n…/logs.py:1:    return x\n…/lossless.py:2:    return x\n"
        "…/diff.py:3:    return x\nBinary file matches\n"
    )
    assert unfold_path_prefix(out) == text


@pytest.mark.parametrize(
    "text",
    [
        "/a/b/c.py\n/a/b/d.py\n/a/b/e.py",  # prefix too short to pay
        "/srv/application/x\n/srv/application/y",  # too few lines
        "…/already\n" + "/srv/application/data/x\n" * 20,  # a line starts with the mark
    ],
)
def test_fold_path_prefix_refuses(text: str) -> None:
    assert fold_path_prefix(text) is None


# ---------------------------------------------------------------- the chain


def test_headline_200_rows_save_a_quarter_of_the_tokens() -> None:
    text = json.dumps(realistic_rows(200), indent=2)
    out = compact_lossless(text, CTX)
    assert out is not None
    before, after = count_tokens(text, "o200k_base"), count_tokens(out.text, "o200k_base")
    saved = 1 - after / before
    print(f"\n200-row pretty JSON: {before} -> {after} o200k tokens ({saved:.1%} saved), {out.reason}")
    assert (out.kind, out.action) == (Kind.TABLE, Action.COMPACTED)
    assert saved >= 0.25
    assert json.loads(expand_lossless(out.text)) == json.loads(text)
    assert same(parse_table(out.text), json.loads(text))


def test_chain_picks_kinds() -> None:
    wrapped = json.dumps({"total": 200, "page": 1, "items": realistic_rows(40)}, indent=2)
    out = compact_lossless(wrapped, CTX)
    assert out is not None and out.kind is Kind.TABLE and out.reason == "JSON object with 1 table"

    nested = json.dumps({"config": {"retries": 3, "hosts": ["a", "b"], "timeouts": {"read": 1.5}}}, indent=4)
    out = compact_lossless(nested, CTX)
    assert out is not None and out.kind is Kind.JSON
    assert out.text == json.dumps(json.loads(nested), separators=(",", ":"))

    log = "[INFO] starting\n" + "[WARN] retrying connection to db:5432\n" * 50 + "[INFO] done\n"
    out = compact_lossless(log, CTX)  # starts with "[" but is not JSON: the line folds take it
    assert out is not None and out.kind is Kind.LOG and expand_lossless(out.text) == log

    base = "/Users/grace/work/monorepo/services/billing/src/"
    listing = "\n".join(f"{base}module_{i}/file_{i}.ts" for i in range(30)) + "\n"
    out = compact_lossless(listing, CTX)
    assert out is not None and out.kind is Kind.LISTING and expand_lossless(out.text) == listing


def test_chain_folds_prefix_and_repeats_together() -> None:
    base = "/var/lib/builds/workspace/project/"
    text = "".join(f"{base}pkg/mod{i % 4}.go:12: unused variable\n" * 3 for i in range(40))
    out = compact_lossless(text, CTX)
    assert out is not None and out.kind is Kind.LISTING and "repeated lines" in out.reason
    assert out.text.startswith("[[headroom folded:") and "[[headroom paths:" in out.text
    assert expand_lossless(out.text) == text


@pytest.mark.parametrize(
    "text",
    [
        "hello world",
        '{"a":1}',
        "[[headroom table: 2 rows; cells are JSON values, bare words are strings]]\na\n1\n2",
        "see [[headroom: 10 of 20 lines elided; retrieve id=0123456789ab]]\n" + "x\n" * 100,
    ],
)
def test_chain_leaves_alone(text: str) -> None:
    assert compact_lossless(text, CTX) is None


def test_module_examples_run() -> None:
    assert doctest.testmod(lossless_module).failed == 0


# ---------------------------------------------------------------- properties

_tricky_words = st.sampled_from(
    ["", " ", "null", "true", "false", "1", "-0", "1.5e3", "01", "NaN", "Infinity", "a,b", '"', "\\",
     "[x]", "{", "x y", " lead", "trail ", "\u2028", "\x85", "tab\t", "…/", "@table", "é", "1 2", "-", "e5"]
)
_strings = st.one_of(st.text(max_size=12), _tricky_words)
_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), _strings
)
json_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_strings, inner, max_size=4)),
    max_leaves=12,
)


@st.composite
def tables(draw: st.DrawFn) -> list[dict[str, object]]:
    columns = draw(st.lists(_strings, min_size=1, max_size=5, unique=True))
    count = draw(st.integers(min_value=2, max_value=6))
    return [{column: draw(json_values) for column in columns} for _ in range(count)]


objects_with_tables = st.dictionaries(_strings, st.one_of(json_values, tables()), min_size=1, max_size=4)


@given(tables())
def test_every_table_renders_and_parses_back_exactly(rows: list[dict[str, object]]) -> None:
    out = render_table(rows)
    assert out is not None
    assert same(parse_table(out), rows)
    assert render_table(rows) == out
    assert MARKER_PATTERN.search(out) is None


@given(st.one_of(objects_with_tables, json_values))
def test_render_table_is_exact_whenever_it_answers(value: object) -> None:
    out = render_table(value)
    if out is not None:
        assert same(parse_table(out), value)
        assert same(json.loads(expand_lossless(out)), value)


@given(json_values, st.sampled_from([None, 1, 2, "\t"]))
def test_compact_json_is_exact_and_shorter(value: object, indent: object) -> None:
    text = json.dumps(value, indent=indent, ensure_ascii=False)
    out = compact_json(text)
    if out is not None:
        assert len(out) < len(text)
        assert same(json.loads(out), json.loads(text))
        assert compact_json(text) == out


_line = st.one_of(
    st.text(alphabet=st.characters(blacklist_characters="\n"), max_size=20),
    st.sampled_from(["", "tick", "tick", "GET /health 200", "x  [x3]", "…/a", "  ", "\r"]),
)
line_texts = st.builds("\n".join, st.lists(_line, max_size=40))
repeated_texts = st.builds(
    lambda runs, tail: "\n".join(line for line, n in runs for _ in range(n)) + tail,
    st.lists(st.tuples(_line, st.integers(1, 30)), max_size=12),
    st.sampled_from(["", "\n", "\n\n"]),
)
_prefixes = st.sampled_from(
    ["/home/ada/code/project/pkg/", "./src/components/forms/", "C:/Users/x/AppData/Local/", "/a/b/"]
)


@st.composite
def path_texts(draw: st.DrawFn) -> str:
    """Mostly lines under one prefix (find, ls, grep output), some not, sometimes one that starts like a fold."""
    prefix = draw(_prefixes)
    under = st.builds(str.__add__, st.just(prefix), _line)
    lines = draw(st.lists(st.one_of(under, under, under, _line), min_size=3, max_size=40))
    return "\n".join(lines) + draw(st.sampled_from(["", "\n"]))


@given(st.one_of(line_texts, repeated_texts))
def test_fold_repeats_round_trips(text: str) -> None:
    out = fold_repeats(text)
    if out is not None:
        assert len(out) < len(text)
        assert unfold_repeats(out) == text
        assert expand_lossless(out) == text
        assert fold_repeats(text) == out


@given(st.one_of(path_texts(), line_texts))
def test_fold_path_prefix_round_trips(text: str) -> None:
    out = fold_path_prefix(text)
    if out is not None:
        assert len(out) < len(text)
        assert unfold_path_prefix(out) == text
        assert expand_lossless(out) == text
        assert fold_path_prefix(text) == out


pretty_json_texts = st.builds(lambda v: json.dumps(v, indent=2), st.one_of(tables(), objects_with_tables))


@settings(max_examples=200, deadline=None)  # the first call loads the tokenizer
@given(st.one_of(path_texts(), repeated_texts, pretty_json_texts))
def test_compact_lossless_saves_tokens_and_expands_back(text: str) -> None:
    out = compact_lossless(text, CTX)
    if out is None:
        return
    assert out.action is Action.COMPACTED and out.originals == ()
    assert count_tokens(out.text, CTX.encoding) < count_tokens(text, CTX.encoding)
    assert MARKER_PATTERN.search(out.text) is None
    assert compact_lossless(text, CTX) == out
    assert compact_lossless(out.text, CTX) is None  # idempotent: its own output is left alone
    expanded = expand_lossless(out.text)
    if out.kind in (Kind.JSON, Kind.TABLE):
        assert same(json.loads(expanded), json.loads(text))
    else:
        assert expanded == text
