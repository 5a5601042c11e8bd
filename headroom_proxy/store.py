"""The store of originals: what the core's markers elided, kept so the proxy can answer retrieve calls.

SQLite (WAL) at `<HEADROOM_HOME>/originals.db`, or an in-memory SQLite database under --stateless.
Every row belongs to a partition, a keyed hash of the caller's credential (`partition_for`), and is
only ever read back within it: one caller can never read another's originals, even knowing an id.
An entry lives `ttl_s` after its last use (stored, re-sent or retrieved), and above `max_bytes` the
least recently used go first. Per partition the store also keeps the retrieval ids of segments that
went upstream compressed (`Result.compressed_ids`), which cache mode passes back to the core.

All SQLite work runs on one dedicated thread, in submission order: nothing blocks the event loop,
and a read queued after a write sees it. Knows SQLite and credential headers, nothing of wires.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import hashlib
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import msgspec

from headroom_core import retrieve

from .settings import Settings

_log = logging.getLogger("headroom.proxy")
_T = TypeVar("_T")
_encode = msgspec.json.Encoder().encode

# The headers (and query parameter) a provider reads its credential from.
CREDENTIAL_HEADERS = ("x-api-key", "authorization", "x-goog-api-key")
_PARTITION_KEY = b"headroom store partition v1"
# An id written this recently (a fraction of the TTL) is not written again: every turn of a
# conversation re-sends the same compressed segments, and rewriting them each turn is wasted I/O.
_REWRITE_FRACTION = 16
_RECENT_MAX = 1 << 16

_SCHEMA = """
CREATE TABLE IF NOT EXISTS originals (
    partition TEXT NOT NULL, id TEXT NOT NULL, text TEXT NOT NULL, size INTEGER NOT NULL, used_at REAL NOT NULL,
    PRIMARY KEY (partition, id));
CREATE INDEX IF NOT EXISTS originals_used_at ON originals (used_at);
CREATE TABLE IF NOT EXISTS sent (
    partition TEXT NOT NULL, id TEXT NOT NULL, used_at REAL NOT NULL, PRIMARY KEY (partition, id));
CREATE INDEX IF NOT EXISTS sent_used_at ON sent (used_at);
CREATE TABLE IF NOT EXISTS followups (
    partition TEXT NOT NULL, response_id TEXT NOT NULL, previous_id TEXT NOT NULL, items BLOB NOT NULL,
    used_at REAL NOT NULL, PRIMARY KEY (partition, response_id));
CREATE TABLE IF NOT EXISTS totals (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO totals VALUES ('bytes', 0);
CREATE TRIGGER IF NOT EXISTS originals_added AFTER INSERT ON originals
    BEGIN UPDATE totals SET value = value + NEW.size WHERE name = 'bytes'; END;
CREATE TRIGGER IF NOT EXISTS originals_removed AFTER DELETE ON originals
    BEGIN UPDATE totals SET value = value - OLD.size WHERE name = 'bytes'; END;
"""


def partition_for(headers: Mapping[str, str], query: str = "") -> str:
    """The partition of a caller: a keyed hash of every credential it presented (empty: anonymous).

    >>> partition_for({"x-api-key": "sk-a"}) == partition_for({"x-api-key": "sk-b"})
    False
    """
    digest = hashlib.blake2b(key=_PARTITION_KEY, digest_size=16)
    for name in CREDENTIAL_HEADERS:
        value = headers.get(name)
        if value is not None:
            digest.update(f"{name}\0{value.strip()}\0".encode("utf-8", "surrogateescape"))
    if "key=" in query:
        for name, value in parse_qsl(query, keep_blank_values=True):
            if name == "key":
                digest.update(f"?key\0{value}\0".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


class Store:
    """Originals and sent ids per partition, bounded by age and bytes. `path` None: in memory."""

    def __init__(
        self, path: Path | None, *, ttl_s: float, max_bytes: int, clock: Callable[[], float] = time.time
    ) -> None:
        self.path = path
        self.ttl_s = ttl_s
        self.max_bytes = max_bytes
        self.clock = clock
        self._conn: sqlite3.Connection | None = None
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="headroom-store")
        self._recent: collections.OrderedDict[tuple[str, str, str], float] = collections.OrderedDict()

    @classmethod
    def from_settings(cls, settings: Settings) -> Store:
        state = settings.state_dir
        path = None if state is None else state / "originals.db"
        return cls(path, ttl_s=settings.store_ttl_s, max_bytes=settings.store_max_bytes)

    # ------------------------------------------------------------------ the async API

    def save(self, partition: str, originals: Mapping[str, str], compressed_ids: Iterable[str]) -> None:
        """Queue a write of what one request sent compressed; returns at once (off the hot path).

        Reads queued later see it, so a retrieve call can never overtake the write of its original.
        `originals` and `compressed_ids` are read on the store's thread: they must not change.
        """
        future = self._executor.submit(self._save, partition, originals, compressed_ids, self.clock())
        future.add_done_callback(_log_failure)

    async def compressed_ids(self, partition: str) -> frozenset[str]:
        """The retrieval ids this partition sent compressed within the TTL (cache mode's memory)."""
        return await self._run(self._sent, partition)

    async def retrieve(
        self, partition: str, id: str, query: str | None = None, offset: int | None = None, limit: int | None = None
    ) -> str:
        """`headroom_core.retrieve` over this partition's originals. Raises RetrievalError."""
        return await self._run(self._retrieve, partition, id, query, offset, limit)

    def link(self, partition: str, response_id: str, previous_id: str, items: list[Any]) -> None:
        """Queue a note for OpenAI Responses: a later request that continues `response_id` must
        continue `previous_id` instead, with `items` first in its input (see retrieval/loop.py)."""
        future = self._executor.submit(self._link, partition, response_id, previous_id, _encode(items), self.clock())
        future.add_done_callback(_log_failure)

    async def followup(self, partition: str, response_id: str) -> tuple[str, list[Any]] | None:
        """What `link` noted for `response_id` in this partition, if anything."""
        return await self._run(self._followup, partition, response_id)

    async def size_bytes(self) -> int:
        return await self._run(self._total)

    def close(self) -> None:
        """Finish queued writes and close the database."""
        self._executor.submit(self._close).result()
        self._executor.shutdown(wait=True)

    async def _run(self, fn: Callable[..., _T], *args: object) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    # ------------------------------------------------------------------ on the store's thread

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            if self.path is None:
                conn = sqlite3.connect(":memory:", isolation_level=None)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, isolation_level=None, timeout=5.0)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                self.path.chmod(0o600)  # originals are the caller's tool output
            conn.executescript(_SCHEMA)
            self._conn = conn
        return self._conn

    def _is_stale(self, key: tuple[str, str, str], now: float) -> bool:
        """True when `key` was not written recently by this process (so it must be written)."""
        recent = self._recent
        written = recent.get(key)
        if written is not None and now - written < self.ttl_s / _REWRITE_FRACTION:
            return False
        recent[key] = now
        recent.move_to_end(key)
        while len(recent) > _RECENT_MAX:
            recent.popitem(last=False)
        return True

    def _save(self, partition: str, originals: Mapping[str, str], compressed_ids: Iterable[str], now: float) -> None:
        fresh = [(rid, text) for rid, text in originals.items() if self._is_stale(("o", partition, rid), now)]
        ids = [rid for rid in compressed_ids if self._is_stale(("s", partition, rid), now)]
        if fresh or ids:
            self._write(partition, fresh, ids, now)

    def _write(self, partition: str, originals: list[tuple[str, str]], ids: list[str], now: float) -> None:
        db = self._db()
        with _transaction(db):
            db.executemany(
                "INSERT INTO originals VALUES (?, ?, ?, ?, ?) ON CONFLICT (partition, id) DO UPDATE SET used_at = excluded.used_at",
                [(partition, rid, text, size, now) for rid, text in originals if (size := len(text.encode("utf-8", "surrogatepass"))) <= self.max_bytes],
            )
            db.executemany(
                "INSERT INTO sent VALUES (?, ?, ?) ON CONFLICT (partition, id) DO UPDATE SET used_at = excluded.used_at",
                [(partition, rid, now) for rid in ids],
            )
            self._evict(db, now)

    def _evict(self, db: sqlite3.Connection, now: float) -> None:
        expired = now - self.ttl_s
        db.execute("DELETE FROM originals WHERE used_at < ?", (expired,))
        db.execute("DELETE FROM sent WHERE used_at < ?", (expired,))
        db.execute("DELETE FROM followups WHERE used_at < ?", (expired,))
        excess = self._total() - self.max_bytes
        if excess <= 0:
            return
        doomed: list[tuple[int]] = []
        for rowid, size in db.execute("SELECT rowid, size FROM originals ORDER BY used_at, rowid"):
            doomed.append((rowid,))
            excess -= size
            if excess <= 0:
                break
        db.executemany("DELETE FROM originals WHERE rowid = ?", doomed)

    def _total(self) -> int:
        return int(self._db().execute("SELECT value FROM totals WHERE name = 'bytes'").fetchone()[0])

    def _sent(self, partition: str) -> frozenset[str]:
        rows = self._db().execute("SELECT id FROM sent WHERE partition = ? AND used_at >= ?", (partition, self.clock() - self.ttl_s))
        return frozenset(rid for (rid,) in rows)

    def _retrieve(self, partition: str, rid: str, query: str | None, offset: int | None, limit: int | None) -> str:
        db = self._db()
        now = self.clock()
        row = db.execute(
            "SELECT text FROM originals WHERE partition = ? AND id = ? AND used_at >= ?", (partition, rid, now - self.ttl_s)
        ).fetchone()
        if row is not None:
            db.execute("UPDATE originals SET used_at = ? WHERE partition = ? AND id = ?", (now, partition, rid))
        return retrieve({rid: row[0]} if row is not None else {}, rid, query, offset, limit)

    def _link(self, partition: str, response_id: str, previous_id: str, items: bytes, now: float) -> None:
        self._db().execute(
            "INSERT OR REPLACE INTO followups VALUES (?, ?, ?, ?, ?)", (partition, response_id, previous_id, items, now)
        )

    def _followup(self, partition: str, response_id: str) -> tuple[str, list[Any]] | None:
        row = self._db().execute(
            "SELECT previous_id, items FROM followups WHERE partition = ? AND response_id = ? AND used_at >= ?",
            (partition, response_id, self.clock() - self.ttl_s),
        ).fetchone()
        return None if row is None else (row[0], msgspec.json.decode(row[1]))

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class _transaction:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error), for a connection in autocommit mode."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, *_: object) -> None:
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")


def _log_failure(future: concurrent.futures.Future[None]) -> None:
    exc = future.exception()
    if exc is not None:  # a lost write costs a retrieval miss later, never the request
        _log.warning("store write failed: %s: %s", type(exc).__name__, exc)
