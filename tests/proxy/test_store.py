"""The store of originals on real SQLite: partitions, TTL, the byte cap, cache mode's sent ids."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import TypeVar

import pytest

from headroom_core import RetrievalError
from headroom_proxy.store import Store, partition_for

_T = TypeVar("_T")


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def run(awaitable: Awaitable[_T]) -> _T:
    async def main() -> _T:
        return await awaitable

    return asyncio.run(main())


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_partitions_are_separate_and_survive_a_restart(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "home" / "originals.db"
    store = Store(path, ttl_s=3600, max_bytes=1 << 20, clock=clock)
    a, b = partition_for({"x-api-key": "sk-a"}), partition_for({"authorization": "Bearer sk-b"})
    store.save(a, {"aaaaaaaaaaaa": "alpha\nbeta"}, {"aaaaaaaaaaaa"})
    assert run(store.retrieve(a, "aaaaaaaaaaaa")) == "alpha\nbeta"
    assert run(store.retrieve(a, "aaaaaaaaaaaa", query="BETA")) == "2: beta"
    with pytest.raises(RetrievalError, match="unknown or has expired"):
        run(store.retrieve(b, "aaaaaaaaaaaa"))
    assert run(store.compressed_ids(a)) == {"aaaaaaaaaaaa"} and run(store.compressed_ids(b)) == frozenset()
    store.close()
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert path.stat().st_mode & 0o777 == 0o600
    again = Store(path, ttl_s=3600, max_bytes=1 << 20, clock=clock)
    assert run(again.retrieve(a, "aaaaaaaaaaaa")) == "alpha\nbeta"
    again.close()


def test_credentials_partition_by_every_place_a_key_travels() -> None:
    keys = [
        partition_for({}),
        partition_for({"x-api-key": "k"}),
        partition_for({"authorization": "Bearer k"}),
        partition_for({"x-goog-api-key": "k"}),
        partition_for({}, "alt=sse&key=k"),
        partition_for({}, "alt=sse&key=other"),
    ]
    assert len(set(keys)) == len(keys)
    assert partition_for({"x-api-key": "k"}) == partition_for({"x-api-key": " k "})


def test_entries_expire_after_the_ttl_since_last_use(clock: Clock) -> None:
    store = Store(None, ttl_s=100, max_bytes=1 << 20, clock=clock)
    store.save("p", {"aaaaaaaaaaaa": "one", "bbbbbbbbbbbb": "two"}, {"aaaaaaaaaaaa"})
    clock.now += 90
    assert run(store.retrieve("p", "aaaaaaaaaaaa")) == "one"  # a retrieval counts as a use
    clock.now += 20
    assert run(store.retrieve("p", "aaaaaaaaaaaa")) == "one"
    with pytest.raises(RetrievalError):
        run(store.retrieve("p", "bbbbbbbbbbbb"))
    assert run(store.compressed_ids("p")) == frozenset()
    store.save("p", {"cccccccccccc": "three"}, ())  # a write purges what expired
    assert run(store.size_bytes()) == len("one") + len("three")
    store.close()


def test_byte_cap_drops_the_least_recently_used_first(tmp_path: Path, clock: Clock) -> None:
    store = Store(tmp_path / "originals.db", ttl_s=3600, max_bytes=1000, clock=clock)
    for n, rid in enumerate(("aaaaaaaaaaaa", "bbbbbbbbbbbb", "cccccccccccc")):
        clock.now += 1
        store.save("p", {rid: str(n) * 400}, ())
    with pytest.raises(RetrievalError):
        run(store.retrieve("p", "aaaaaaaaaaaa"))
    assert run(store.retrieve("p", "cccccccccccc")) == "2" * 400
    assert run(store.size_bytes()) == 800
    store.save("p", {"dddddddddddd": "x" * 2000}, ())  # larger than the whole cap: not kept at all
    assert run(store.size_bytes()) == 800
    store.close()


def test_saving_is_off_the_event_loop_and_fast() -> None:
    store = Store(None, ttl_s=3600, max_bytes=1 << 30)
    originals = {f"{n:012x}": "line of tool output\n" * 500 for n in range(20)}

    async def main() -> float:
        started = time.perf_counter()
        for n in range(50):
            store.save(f"p{n}", originals, originals.keys())
        elapsed = time.perf_counter() - started
        assert await store.retrieve("p49", f"{19:012x}") == originals[f"{19:012x}"]  # queued after the writes
        return elapsed

    assert asyncio.run(main()) < 0.5  # 1,000 originals (10 MB) queued; the writes happen on the store thread
    store.close()
