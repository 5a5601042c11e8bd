"""The plain-text report and the floors check."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FLOORS_PATH = Path(__file__).with_name("floors.json")


def table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [[str(c) for c in headers]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, r in enumerate(cells):
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def render(rep: dict[str, Any]) -> str:
    out = [f"Headroom benchmark ({rep['size']}): core {rep['core_version']}, Python {rep['python']}, "
           f"{rep['machine']}; corpus built in {rep['corpus_build_s']} s; p50 over {rep['timing_runs']} runs"]
    rows = []
    for r in rep["scenarios"]:
        ca = r["code_aware"]
        rows.append([r["name"], r["wire"], r["tokens_before"], r["tokens_after"], r["savings_pct"],
                     f"{r['needles_visible']}/{r['needles']}", r["needles_recoverable_only"], len(r["needles_lost"]),
                     "ok" if not r["structure_errors"] else len(r["structure_errors"]),
                     len(r["unmarked_losses"]), r["p50_ms"], r["p50_warm_ms"],
                     ca.get("savings_pct", ca["status"][:12]), r["actions"][:48]])
    t = rep["total"]
    rows.append(["TOTAL", "", t["tokens_before"], t["tokens_after"], t["savings_pct"],
                 f"{t['needles_visible']}/{t['needles']}", round(t["needles_visible_or_recoverable_pct"] - t["needles_visible_pct"], 1),
                 t["needles"] - round(t["needles"] * t["needles_visible_or_recoverable_pct"] / 100),
                 "ok" if not t["structure_errors"] else t["structure_errors"], t["unmarked_losses"], t["p50_ms_sum"], "",
                 t["code_aware_savings_pct"], ""])
    out.append("")
    out.append(table(["scenario", "wire", "tok before", "tok after", "saved %", "needles", "retr.only", "lost",
                      "struct", "unmarked", "p50 ms", "warm ms", "code_aware %", "actions"], rows))
    out.append(f"code_aware=True: {', '.join(t['code_aware_statuses'])}; nondeterministic scenarios: {t['nondeterministic']}; "
               f"dangling marker ids: {t['dangling_markers']}")
    for r in rep["scenarios"]:
        for label, items in (("LOST", r["needles_lost"]), ("only via retrieve", r["needles_hidden"]),
                             ("structure", r["structure_errors"]), ("unmarked loss", r["unmarked_losses"]),
                             ("dangling marker", r["dangling_markers"])):
            for item in items[:5]:
                out.append(f"  ! {r['name']}: {label}: {item[:160]!s}")
    c = rep["cold_first_call"]
    out.append("")
    out.append(f"cold first call (fresh process, {c['scenario']}, {c['tokens_before']:,} tokens): "
               f"import {c['import_ms']:.0f} ms + first compress {c['first_compress_ms']:.0f} ms")
    inc = rep.get("incremental")
    if inc:
        out.append(f"incremental (proxy steady state: {inc['scenario']} replayed turn by turn, {inc['requests']} requests "
                   f"up to {inc['tokens_last']:,} tokens, memo warm): p50 {inc['p50_ms']:.1f} ms per request, "
                   f"max {inc['max_ms']:.1f} ms, first {inc['first_ms']:.1f} ms")
    out.append("")
    out.append("scaling (mixed tool output, memo caches cleared):")
    out.append(table(["target", "tokens", "p50 ms", "us/token"],
                     [[s["target_tokens"], s["tokens"], s["p50_ms"], round(s["us_per_token"], 3)] for s in rep["scaling"]]))
    sc = rep["scaling"]
    if len(sc) > 1:
        out.append(f"us/token at the largest size / at the smallest: {sc[-1]['us_per_token'] / sc[0]['us_per_token']:.2f} (1.0 = linear)")
    ce = rep["cache_economics"]
    out.append("")
    out.append(f"cache economics: {ce['turns']} turns, {ce['turn_spacing_s']} s apart, TTL {ce['ttl_s']} s, "
               f"write {ce['prices']['cache_write']}x, read {ce['prices']['cache_read']}x")
    out.append(table(["mode", "sent tok", "read tok", "write tok", "uncached", "busted", "cost (tok-eq)", "USD", "vs none"],
                     [[s["mode"], s["sent_tokens"], s["cache_read_tokens"], s["cache_write_tokens"], s["uncached_tokens"],
                       s["busted_turns"], s["cost_token_equivalents"], f"{s['cost_usd']:.4f}", f"{s['cost_vs_uncompressed']:.3f}"]
                      for s in ce["sessions"]]))
    return "\n".join(out)


def check_floors(rep: dict[str, Any], path: Path = FLOORS_PATH) -> list[str]:
    """Every floor of this size that the report does not meet, as a sentence."""
    floors = json.loads(path.read_text())[rep["size"]]
    t = rep["total"]
    costs = {s["mode"]: s["cost_vs_uncompressed"] for s in rep["cache_economics"]["sessions"]}
    figures = {
        "min_total_savings_pct": t["savings_pct"],
        "min_needles_visible_pct": t["needles_visible_pct"],
        "min_needles_visible_or_recoverable_pct": t["needles_visible_or_recoverable_pct"],
        "max_structure_errors": t["structure_errors"],
        "max_unmarked_losses": t["unmarked_losses"],
        "max_dangling_markers": t["dangling_markers"],
        "max_nondeterministic_scenarios": t["nondeterministic"],
        "max_token_mode_cost_vs_uncompressed": costs.get("token"),
        "max_cache_mode_cost_vs_uncompressed": costs.get("cache"),
    }
    out = []
    for name, floor in floors.items():
        if name.startswith("_"):
            continue
        value = figures[name]
        bad = value < floor if name.startswith("min_") else value > floor
        if bad:
            out.append(f"{name}: {value} is {'below' if name.startswith('min_') else 'above'} the floor {floor}")
    return out
