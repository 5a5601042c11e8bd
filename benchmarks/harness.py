"""Runs the corpus through the core and collects every figure of the report (a plain dict)."""

from __future__ import annotations

import json
import platform
import time
from typing import Any

from headroom_core import compress

from . import cache_economics, timing
from .corpus import Scenario, build_corpus, build_shared, coding_session, corpus_lock
from .metrics import evaluate, needle_present

PROFILES = {
    "quick": {"runs": 3, "scaling": (10_000, 50_000, 100_000)},
    "full": {"runs": 15, "scaling": (10_000, 50_000, 100_000, 1_000_000)},
}


def run(size: str, log=print, reference: bool = False) -> dict[str, Any]:
    profile = PROFILES[size]
    t0 = time.perf_counter()
    with corpus_lock():
        shared = build_shared(size)
        corpus = build_corpus(size, shared)
        session = coding_session(shared)
    build_s = time.perf_counter() - t0
    log(f"corpus: {len(corpus)} scenarios built in {build_s:.1f} s")
    for sc in corpus:
        missing = [n for n in sc.needles if not needle_present(sc.messages, n)]
        if missing:
            raise RuntimeError(f"corpus bug: {sc.name} needles not in its own input: {missing}")
    near_50k = _nearest(corpus, 50_000)
    cold = timing.cold_first_call(near_50k.messages)
    rows = [scenario_row(sc, profile["runs"]) for sc in corpus]
    log(f"scenarios measured ({time.perf_counter() - t0:.1f} s)")
    # The multi-turn session (41k tokens quick, 81k full): the scenario nearest 50k may be a single
    # tool result (server_log in the full corpus), which has no steady state to replay.
    incremental = timing.incremental(session.messages)
    scaling = timing.scaling(corpus, profile["scaling"], profile["runs"])
    log(f"scaling measured ({time.perf_counter() - t0:.1f} s)")
    economics = cache_economics.run(session.messages)
    rep = {
        "size": size,
        "core_version": timing.version(),
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}",
        "corpus_build_s": round(build_s, 2),
        "timing_runs": profile["runs"],
        "scenarios": rows,
        "total": totals(rows),
        "cold_first_call": {**cold, "scenario": near_50k.name},
        "incremental": {**incremental, "scenario": session.name},
        "scaling": scaling,
        "cache_economics": economics,
    }
    if reference:
        from . import reference as ref

        rep["reference"] = ref.compare(corpus, rep, log=log)
    rep["elapsed_s"] = round(time.perf_counter() - t0, 1)
    return rep


def scenario_row(sc: Scenario, runs: int) -> dict[str, Any]:
    r = compress(sc.messages)
    fid = evaluate(sc.messages, r.messages, r.originals, sc.needles)
    row: dict[str, Any] = {
        "name": sc.name,
        "wire": sc.wire,
        "description": sc.description,
        "messages": len(sc.messages),
        "tokens_before": r.tokens_before,
        "tokens_after": r.tokens_after,
        "savings_pct": _pct(r.tokens_before - r.tokens_after, r.tokens_before),
        "needles": fid.needles,
        "needles_visible": fid.visible,
        "needles_recoverable_only": fid.recoverable,
        "needles_lost": fid.lost,
        "needles_hidden": fid.hidden,
        "structure_errors": fid.structure_errors,
        "changed_texts": fid.changed_texts,
        "lossless_texts": fid.lossless_texts,
        "marked_texts": fid.marked_texts,
        "unmarked_losses": fid.unmarked_losses,
        "dangling_markers": fid.dangling_markers,
        "markers": fid.markers,
        "actions": _actions(r),
        "p50_ms": round(timing.p50_ms(sc.messages, runs), 2),
        "p50_warm_ms": round(timing.p50_ms(sc.messages, runs, warm=True), 2),
        "deterministic": json.dumps(compress(sc.messages).messages) == json.dumps(r.messages),
    }
    row["code_aware"] = _code_aware(sc, r)
    return row


def _code_aware(sc: Scenario, plain: Any) -> dict[str, Any]:
    try:
        r = compress(sc.messages, code_aware=True)
    except Exception as exc:  # report it: the option is documented, so raising is a finding
        return {"status": f"raised {type(exc).__name__}: {exc}"}
    fid = evaluate(sc.messages, r.messages, r.originals, sc.needles)
    same = json.dumps(r.messages) == json.dumps(plain.messages)
    return {
        "status": "no change" if same else "changed output",
        "tokens_after": r.tokens_after,
        "savings_pct": _pct(r.tokens_before - r.tokens_after, r.tokens_before),
        "needles_visible": fid.visible,
        "structure_errors": len(fid.structure_errors),
    }


def totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    before = sum(r["tokens_before"] for r in rows)
    after = sum(r["tokens_after"] for r in rows)
    needles = sum(r["needles"] for r in rows)
    visible = sum(r["needles_visible"] for r in rows)
    recoverable = sum(r["needles_recoverable_only"] for r in rows)
    ca_after = sum(r["code_aware"].get("tokens_after", r["tokens_after"]) for r in rows)
    return {
        "scenarios": len(rows),
        "tokens_before": before,
        "tokens_after": after,
        "savings_pct": _pct(before - after, before),
        "needles": needles,
        "needles_visible": visible,
        "needles_visible_pct": _pct(visible, needles),
        "needles_visible_or_recoverable_pct": _pct(visible + recoverable, needles),
        "structure_errors": sum(len(r["structure_errors"]) for r in rows),
        "unmarked_losses": sum(len(r["unmarked_losses"]) for r in rows),
        "dangling_markers": sum(len(r["dangling_markers"]) for r in rows),
        "nondeterministic": sum(not r["deterministic"] for r in rows),
        "p50_ms_sum": round(sum(r["p50_ms"] for r in rows), 1),
        "code_aware_savings_pct": _pct(before - ca_after, before),
        "code_aware_statuses": sorted({r["code_aware"]["status"] for r in rows}),
    }


def _actions(r: Any) -> str:
    counts: dict[str, int] = {}
    for d in r.decisions:
        if d.action.value != "kept":
            key = f"{d.kind.value}:{d.action.value}"
            counts[key] = counts.get(key, 0) + 1
    return ", ".join(f"{k}x{n}" if n > 1 else k for k, n in sorted(counts.items())) or "-"


def _nearest(corpus: list[Scenario], tokens: int) -> Scenario:
    from headroom_core import count_tokens

    return min(corpus, key=lambda s: abs(count_tokens(json.dumps(s.messages)) - tokens))


def _pct(part: float, whole: float) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0
