"""The benchmark corpus: agent conversations built at run time from real output on this machine.

`build_corpus("full")` or `build_corpus("quick")` (smaller tool outputs) returns the scenarios;
the same machine gives the same bytes (listings sorted, volatile fields fixed, seeds fixed).
"""

from __future__ import annotations

import contextlib
import fcntl
from typing import Iterator

from . import sources
from .conversation import Conversation, mark_newest
from .scenarios import BUILDERS, SYSTEM, Scenario, Shared, coding_session

__all__ = ["corpus_lock", "SCALES", "Conversation", "Scenario", "Shared", "build_corpus", "build_shared", "coding_session", "mark_newest", "SYSTEM"]

SCALES = {"full": 1.0, "quick": 0.4}


@contextlib.contextmanager
def corpus_lock() -> Iterator[None]:
    """Hold the corpus work directory: its paths are fixed (they appear in tool output), so two
    concurrent builds on one machine take turns instead of deleting each other's files."""
    sources.WORK_DIR.parent.mkdir(parents=True, exist_ok=True)
    with open(sources.WORK_DIR.with_name(sources.WORK_DIR.name + ".lock"), "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def build_shared(size: str = "full") -> Shared:
    """Run the slow real tools once (server, pytest, git) for every scenario that quotes them."""
    scale = SCALES[size]
    log, orders, failing = sources.server_session(max(120, int(1000 * scale)))
    pytest_out, failing_test = sources.pytest_run()
    repo, commits = sources.vendor_history()
    return Shared(scale, log, orders, failing, pytest_out, failing_test, repo, commits)


def build_corpus(size: str = "full", shared: Shared | None = None) -> list[Scenario]:
    """Every scenario, in a fixed order (callers that pass `shared` hold `corpus_lock` themselves)."""
    if shared is not None:
        return [build(shared) for build in BUILDERS]
    with corpus_lock():
        shared = build_shared(size)
        return [build(shared) for build in BUILDERS]
