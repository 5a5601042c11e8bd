"""`python -m benchmarks [--quick] [--json PATH] [--reference]`: see benchmarks/README.md."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import harness, report
from .reference import ReferenceUnavailable
from .reference import render as render_reference


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller corpus, fewer timing runs (CI); exits 1 below a floor")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the full report as JSON")
    parser.add_argument("--floors", type=Path, default=report.FLOORS_PATH, help="floors file (default: benchmarks/floors.json)")
    parser.add_argument("--reference", action="store_true",
                        help="also run headroom-ai==0.42.0 from PyPI in its own venv on the same corpus (needs network)")
    args = parser.parse_args(argv)
    size = "quick" if args.quick else "full"
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    try:
        rep = harness.run(size, log=log, reference=args.reference)
    except ReferenceUnavailable as exc:
        print(f"--reference: {exc}", file=sys.stderr)
        return 2
    violations = report.check_floors(rep, args.floors)
    rep["floor_violations"] = violations
    print(report.render(rep))
    if "reference" in rep:
        print()
        print(render_reference(rep["reference"]))
    if args.json:
        args.json.write_text(json.dumps(rep, indent=2))
        print(f"\nJSON report: {args.json}")
    if violations:
        print("\nFLOORS VIOLATED:")
        for v in violations:
            print(f"  - {v}")
        return 1
    print(f"\nfloors ({size}): all met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
