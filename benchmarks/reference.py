"""`--reference`: the reference product (headroom-ai==0.42.0 from PyPI) on the same corpus.

It is installed into its own venv (REF_VENV, default /tmp/headroom-ref-venv) and run in a
subprocess, so nothing of it is imported here. Its output is judged by the same needle and
structure checks; its retrieval store is not reachable from outside, so only visibility counts.
Needs network access to PyPI; not part of CI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

from .corpus import Scenario
from .metrics import evaluate
from .report import table

PACKAGE = "headroom-ai==0.42.0"
REF_VENV = Path(os.environ.get("HEADROOM_REF_VENV", "/tmp/headroom-ref-venv"))

_RUNNER = r"""
import json, statistics, sys, time
from headroom import compress
corpus = json.load(open(sys.argv[1]))
runs = int(sys.argv[2])
out = []
for sc in corpus:
    t = time.perf_counter()
    r = compress(sc["messages"])
    first = (time.perf_counter() - t) * 1000
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        compress(sc["messages"])
        times.append((time.perf_counter() - t) * 1000)
    out.append({"name": sc["name"], "messages": r.messages, "tokens_before": r.tokens_before,
                "tokens_after": r.tokens_after, "first_ms": first, "p50_ms": statistics.median(times)})
json.dump(out, open(sys.argv[3], "w"))
"""


class ReferenceUnavailable(RuntimeError):
    """The reference could not be installed or run here; the message says why."""


def ensure_venv(log: Callable[[str], None]) -> Path:
    python = REF_VENV / "bin" / "python"
    if python.exists() and subprocess.run([python, "-c", "import headroom"], capture_output=True).returncode == 0:
        return python
    log(f"reference: creating {REF_VENV} and installing {PACKAGE} (network)")
    made = subprocess.run([sys.executable, "-m", "venv", str(REF_VENV)], capture_output=True, text=True)
    if made.returncode != 0:
        raise ReferenceUnavailable(f"could not create {REF_VENV}: {made.stderr.strip()[-500:]}")
    pip = subprocess.run([python, "-m", "pip", "install", "-q", PACKAGE], capture_output=True, text=True, timeout=1800)
    if pip.returncode != 0:
        raise ReferenceUnavailable(f"pip install {PACKAGE} failed: {(pip.stderr or pip.stdout).strip()[-800:]}")
    return python


def compare(corpus: list[Scenario], ours: dict[str, Any], log: Callable[[str], None] = print) -> dict[str, Any]:
    python = ensure_venv(log)
    needles = {sc.name: sc for sc in corpus}
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "corpus.json", Path(tmp) / "out.json"
        src.write_text(json.dumps([{"name": s.name, "messages": s.messages} for s in corpus]))
        proc = subprocess.run([python, "-c", _RUNNER, str(src), str(ours["timing_runs"]), str(dst)],
                              capture_output=True, text=True, timeout=3600, env={**os.environ, "HEADROOM_TELEMETRY": "off"})
        if proc.returncode != 0:
            raise ReferenceUnavailable(f"the reference run failed: {proc.stderr.strip()[-800:]}")
        theirs = json.loads(dst.read_text())
    rows = []
    by_name = {r["name"]: r for r in ours["scenarios"]}
    for t in theirs:
        sc = needles[t["name"]]
        fid = evaluate(sc.messages, t["messages"], {}, sc.needles)
        o = by_name[t["name"]]
        rows.append({
            "name": t["name"],
            "ours_savings_pct": o["savings_pct"],
            "ref_savings_pct": round(100 * (1 - t["tokens_after"] / t["tokens_before"]), 2) if t["tokens_before"] else 0.0,
            "ours_needles_visible": o["needles_visible"],
            "ref_needles_visible": fid.visible,
            "needles": fid.needles,
            "ref_structure_errors": len(fid.structure_errors),
            "ours_p50_ms": o["p50_ms"],
            "ours_warm_ms": o["p50_warm_ms"],
            "ref_p50_ms": round(t["p50_ms"], 2),
            "ref_first_ms": round(t["first_ms"], 1),
        })
    return {"package": PACKAGE, "scenarios": rows}


def render(ref: dict[str, Any]) -> str:
    rows = [[r["name"], r["ours_savings_pct"], r["ref_savings_pct"], f"{r['ours_needles_visible']}/{r['needles']}",
             f"{r['ref_needles_visible']}/{r['needles']}", r["ref_structure_errors"], r["ours_p50_ms"], r["ref_first_ms"],
             r["ours_warm_ms"], r["ref_p50_ms"]]
            for r in ref["scenarios"]]
    s = {k: sum(r[k] for r in ref["scenarios"]) for k in ("ours_p50_ms", "ref_first_ms", "ours_warm_ms", "ref_p50_ms")}
    return (f"reference: {ref['package']} (savings by its own token counts)\n"
            + table(["scenario", "ours %", "ref %", "ours needles", "ref needles", "ref struct",
                     "ours fresh ms", "ref first ms", "ours warm ms", "ref repeat ms"], rows)
            + f"\nfresh input: ours {s['ours_p50_ms']:.1f} ms vs reference first call {s['ref_first_ms']:.1f} ms "
            f"(reference/ours {s['ref_first_ms'] / max(s['ours_p50_ms'], 1e-9):.2f}x); "
            f"repeated input: ours {s['ours_warm_ms']:.1f} ms vs reference {s['ref_p50_ms']:.1f} ms")
