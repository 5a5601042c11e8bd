"""Request bodies captured from real clients (tests/fixtures/requests) go through compress_request intact."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from headroom_core import Action, Source, compress_request
from headroom_core.wire import ADAPTERS

FIXTURES = Path(__file__).parents[1] / "fixtures" / "requests"
CASES = sorted(p for p in FIXTURES.glob("*.json") if not p.name.endswith(".meta.json"))


def _load(path: Path) -> tuple[dict, str]:
    meta = json.loads(path.with_name(path.name[: -len(".json")] + ".meta.json").read_text())
    return json.loads(path.read_text()), meta["wire"]


def _bytes(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def test_there_are_fixtures_from_every_real_client() -> None:
    names = " ".join(p.name for p in CASES)
    for client in ("anthropic-sdk", "openai-sdk", "claude-code", "codex"):
        assert client in names


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_only_tool_results_change_and_everything_else_is_identical(path: Path) -> None:
    body, wire = _load(path)
    before = _bytes(body)
    result = compress_request(body, wire=wire)
    assert _bytes(body) == before, "the input must not be mutated"
    originals = {s.path: s for s in ADAPTERS[wire].segments(body)}
    changed = [d for d in result.decisions if d.action in (Action.COMPACTED, Action.COMPRESSED)]
    for d in changed:
        assert originals[d.path].source is Source.TOOL_RESULT
    # Put the original text back where it changed: the rest must be byte for byte what the client sent
    # (roles, ids, pairing, thinking signatures, cache_control, system, tools, unknown fields, order).
    restored = ADAPTERS[wire].splice(result.body, {d.path: originals[d.path].text for d in changed})
    assert _bytes(restored) == before
    assert result.changed == bool(changed)
    assert _bytes(compress_request(json.loads(before), wire=wire).body) == _bytes(result.body)


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_second_pass_changes_nothing(path: Path) -> None:
    body, wire = _load(path)
    once = compress_request(body, wire=wire)
    assert not compress_request(once.body, wire=wire).changed


@pytest.mark.parametrize("path", [p for p in CASES if "turn1" in p.name or "prewarm" in p.name], ids=lambda p: p.stem)
def test_first_turns_have_nothing_to_compress(path: Path) -> None:
    body, wire = _load(path)
    result = compress_request(body, wire=wire)
    assert not result.changed and result.body is body
