"""Headroom's benchmark: savings, fidelity, speed and cache economics on a corpus built from
real output on this machine. Run `python -m benchmarks` (or `--quick`); see README.md."""
