"""The JSON crusher: the rows an agent needs stay verbatim, every drop is a marker, the rest is retrievable."""

from __future__ import annotations

import json
import re

import pytest

from headroom_core import MARKER_PATTERN, compress, count_tokens, retrieve
from headroom_core.compressors import Context
from headroom_core.compressors.json_crusher import compress_json
from headroom_core.config import Config

_REGIONS = ("us-east-1", "eu-west-1", "ap-south-1")


def _orders(n: int = 500) -> list[dict]:
    """A realistic paginated API page: orders with statuses, amounts and nested customers."""
    rows = []
    for i in range(n):
        rows.append(
            {
                "id": f"ord_{10000 + i}",
                "customer": {"name": f"customer-{i % 97}", "region": _REGIONS[i % 3]},
                "status": "succeeded",
                "amount_cents": 1000 + (i * 37) % 900,
                "currency": "usd",
                "created_at": f"2026-03-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z",
                "error": None,
            }
        )
    for i, message in ((137, "card_declined"), (288, "insufficient_funds"), (431, "processing_error")):
        rows[i]["status"] = "failed"
        rows[i]["error"] = message
    return rows


def _body(rows: list[dict]) -> str:
    return json.dumps({"object": "list", "data": rows, "has_more": True, "total_count": len(rows)}, indent=2)


def _ctx(query: str = "", **options) -> Context:
    return Context(Config(**options), query=query)


def test_errors_asked_row_and_boundary_rows_stay_verbatim():
    rows = _orders()
    text = _body(rows)
    out = compress_json(text, _ctx("Why did order ord_10321 not go through?"))
    assert out is not None
    for i in (0, 1, 2, 137, 288, 321, 431, 499):
        assert f"ord_{10000 + i}" in out.text, i
    assert "card_declined" in out.text and "insufficient_funds" in out.text and "processing_error" in out.text
    # The kept rows are the original rows, cell for cell (the table keeps types; nested objects stay JSON).
    assert 'ord_10137,{"name":"customer-40","region":"ap-south-1"},failed,1569,usd,2026-03-26T17:17:00Z,card_declined' in out.text
    saved = 1 - count_tokens(out.text) / count_tokens(text)
    assert saved >= 0.6, saved


def test_marker_counts_what_went_and_what_stayed():
    text = _body(_orders())
    out = compress_json(text, _ctx("Why did order ord_10321 not go through?"))
    summaries = [m["summary"] for m in MARKER_PATTERN.finditer(out.text) if m["id"]]
    assert len(summaries) == 1
    match = re.fullmatch(r"data: ([0-9]+) of 500 rows elided \(kept ([0-9]+): (.*)\); elided by status: ([0-9]+) succeeded", summaries[0])
    assert match, summaries[0]
    dropped, kept, categories = int(match[1]), int(match[2]), match[3]
    assert dropped + kept == 500 and int(match[4]) == dropped
    counts = {name: int(n) for n, name in re.findall(r"([0-9]+) ([a-z ]+?)(?:,|$)", categories)}
    assert counts["errors"] == 3 and counts["query"] == 1 and sum(counts.values()) == kept
    # The gaps add up: every dropped row is inside exactly one gap marker.
    gaps = [m["summary"] for m in MARKER_PATTERN.finditer(out.text) if not m["id"]]
    spans = [tuple(map(int, re.fullmatch(r"rows ([0-9]+)-([0-9]+) elided", g).groups())) for g in gaps if g.startswith("rows")]
    singles = [g for g in gaps if g.startswith("row ")]
    assert sum(b - a + 1 for a, b in spans) + len(singles) == dropped


def test_retrieval_returns_the_exact_original_and_matching_rows():
    text = _body(_orders())
    out = compress_json(text, _ctx("ord_10321"))
    [(rid, original)] = out.originals
    assert original == text
    assert [m["id"] for m in MARKER_PATTERN.finditer(out.text) if m["id"]] == [rid]
    assert retrieve(dict(out.originals), rid) == text
    hits = retrieve(dict(out.originals), rid, query="ord_10250")
    assert hits.startswith("data[250]: {") and hits.count("\n") == 0
    assert json.loads(hits.partition(": ")[2])["id"] == "ord_10250"


def test_no_retrieval_means_no_ids_and_no_originals():
    out = compress_json(_body(_orders()), _ctx(ccr=False))
    assert out.originals == ()
    assert all(m["id"] is None for m in MARKER_PATTERN.finditer(out.text))


def test_error_detection_is_field_aware_not_substring():
    # Every row mentions "crash" and has an error_count field: that alone must not make every row an error.
    rows = [
        {"number": i, "title": f"observe crash in module {i}", "error_count": 0, "state": "open", "comments": i % 5}
        for i in range(200)
    ]
    rows[77]["state"] = "closed"
    out = compress_json(json.dumps(rows), _ctx())
    assert out is not None and "of 200 rows elided" in out.reason
    assert "77,observe crash in module 77,0,closed" in out.text
    assert "errors" not in out.reason  # "closed" is rare but not a failure: it is kept as a rare value
    assert "1 rare values" in out.reason


def test_numeric_outliers_are_kept():
    rows = [{"endpoint": f"/api/v1/items/{i}", "latency_ms": 40 + (i * 7) % 20} for i in range(300)]
    rows[203]["latency_ms"] = 9150
    out = compress_json(json.dumps(rows), _ctx())
    assert "/api/v1/items/203,9150" in out.text
    assert "1 outliers" in out.reason


def test_query_relevance_uses_idf_from_the_array():
    # "status" is in every row's keys and "ok" in every row's values: only "payments" discriminates.
    rows = [{"service": f"svc-{i}", "team": "core", "status": "ok"} for i in range(150)]
    rows[90]["team"] = "payments"
    out = compress_json(json.dumps(rows), _ctx("what is the status of the payments team service?"))
    assert "svc-90,payments,ok" in out.text
    assert "1 query" in out.reason


def test_arrays_of_numbers_and_strings_are_never_dropped_silently():
    numbers = json.dumps({"samples": [round(0.5 + (i % 13) / 10, 2) for i in range(400)]})
    out = compress_json(numbers, _ctx())
    assert out is not None and "samples: " in out.reason and "of 400 items elided" in out.reason
    strings = json.dumps([f"/srv/app/static/img/{i:04d}.png" for i in range(300)] + ["/srv/app/static/img/broken: permission denied"])
    out = compress_json(strings, _ctx())
    assert "of 301 items elided" in out.reason and "permission denied" in out.text


def test_small_arrays_and_objects_are_left_to_the_lossless_pass():
    assert compress_json(json.dumps([{"id": i, "name": f"n{i}"} for i in range(10)]), _ctx()) is None
    assert compress_json(json.dumps({f"key{i}": i for i in range(300)}), _ctx()) is None  # keys are never dropped
    assert compress_json("not json at all", _ctx()) is None
    assert compress_json(_body(_orders()), Context(Config(), lossless_only=True)) is None


def test_deeply_nested_arrays_render_as_json_with_marker_lines():
    value = {"result": {"page": 1, "hits": [{"path": f"src/m{i}.py", "score": 1.0, "ok": True} for i in range(120)]}}
    value["result"]["hits"][60]["ok"] = False
    out = compress_json(json.dumps(value), _ctx())
    assert '{"path":"src/m60.py","score":1.0,"ok":false}' in out.text
    # Deleting the marker lines leaves valid JSON of the kept value.
    kept = json.loads("\n".join(line for line in out.text.split("\n") if not MARKER_PATTERN.fullmatch(line)))
    assert kept["result"]["page"] == 1 and {"path": "src/m60.py", "score": 1.0, "ok": False} in kept["result"]["hits"]


def test_json_lines_keep_their_lines_verbatim():
    lines = [json.dumps({"ts": f"2026-03-01T10:{i // 60:02d}:{i % 60:02d}Z", "level": "info", "msg": f"tick {i}"}) for i in range(200)]
    lines[150] = json.dumps({"ts": "2026-03-01T10:02:30Z", "level": "error", "msg": "db connection reset"})
    out = compress_json("\n".join(lines), _ctx())
    assert lines[150] in out.text.split("\n") and lines[0] in out.text.split("\n")
    assert "of 200 lines elided" in out.reason


def test_explicit_target_ratio_sets_the_budget():
    text = _body(_orders())
    small = compress_json(text, _ctx(target_ratio=0.05))
    large = compress_json(text, _ctx(target_ratio=0.5))
    assert count_tokens(small.text) < count_tokens(large.text)
    assert "of 500 rows elided (kept 250" in large.reason


def test_deterministic():
    text = _body(_orders())
    ctx = _ctx("ord_10321 failed?")
    assert compress_json(text, ctx) == compress_json(text, ctx)


@pytest.mark.parametrize("query", ["", "Why did order ord_10321 fail?"])
def test_through_compress_never_grows_and_is_idempotent(query):
    messages = [
        {"role": "user", "content": query or "list the orders"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "http_get", "input": {"url": "/v1/orders"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": _body(_orders())}]},
    ]
    first = compress(messages)
    assert first.changed and first.tokens_after < first.tokens_before * 0.4
    second = compress(first.messages)
    assert second.messages == first.messages and not second.changed
    [decision] = [d for d in first.decisions if d.tokens_before != d.tokens_after]
    assert decision.retrieval_id in first.originals


def test_rare_values_of_a_yes_no_field_are_kept() -> None:
    # A yes/no field is a status even when its name is not one: `active: false` rows are the news.
    rows = [{"id": i, "name": f"user{i}", "email": f"user{i}@example.com", "active": i % 7 != 0, "score": i * 1.5} for i in range(150)]
    out = compress_json(json.dumps(rows, indent=2), Context(Config(), query="Which users are inactive?"))
    assert out is not None
    for row in rows:
        if not row["active"]:
            assert f"{row['id']},user{row['id']},user{row['id']}@example.com,false," in out.text
    assert "22 rare values" in out.text
