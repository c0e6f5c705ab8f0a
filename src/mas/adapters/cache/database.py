"""The ``Cache`` port over the ``cache_entries`` table, shared by every process on one database.

For several processes without NATS (``MAS_HTTP_WORKERS=2`` on the embedded SQLite, several
servers on one PostgreSQL): a session ended or an account blocked through one process is seen
by the very next request on any other, because every process reads the same rows.

Each call is one statement in its own short transaction, so nothing here holds a lock between
two calls, and the atomic operations are atomic across processes by the database's own rules:

* ``set``: ``INSERT … ON CONFLICT (key) DO UPDATE`` (an upsert).
* ``incr``: the same upsert, whose update adds one to ``counter``, or restarts it at 1 when the
  row it met had expired; ``RETURNING`` gives the new value. Like ``MemoryCache`` (and Redis
  INCR) the first increment sets the TTL and later ones keep it.
* ``add_if_absent``: an upsert whose update only happens ``WHERE`` the row has expired; a row
  comes back only when this call stored the value.

Expired rows are never read (every read compares ``expires_at`` with now) and are deleted in
batches at most once a minute per process, after a write: the table stays bounded by the keys
live in the last minute, with no cron to schedule. Deleting twice is harmless.

Time is the wall clock (every process on every machine must agree), not a monotonic one.
On SQLite every write waits for the database's single write lock: a cache write made while the
same task holds an open write transaction on another connection would wait for its own lock,
so callers write to the cache after their unit of work commits (as identity's services do).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from mas.adapters.db.platform.tables import CACHE_KEY_LENGTH, cache_entries
from mas.adapters.telemetry.metrics import count_lookup
from mas.core.platform.errors import ExternalUnavailable

log = logging.getLogger("mas.cache")

PURGE_EVERY = timedelta(seconds=60)
PURGE_BATCH = 1000

_HASHED = "#"
_table = cache_entries
_expired_at = _table.c.expires_at


def stored_key(key: str) -> str:
    """The row key of ``key``: itself when it fits; otherwise ``#`` and its SHA-256.

    A key that is too long, starts with ``#`` or holds a NUL (which PostgreSQL text refuses) is
    hashed, so a stored key starting with ``#`` is always a hash and two keys never share a row.
    """
    if len(key) <= CACHE_KEY_LENGTH and not key.startswith(_HASHED) and "\x00" not in key:
        return key
    return _HASHED + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _utc_now() -> datetime:
    return datetime.now(UTC)


class DatabaseCache:
    def __init__(self, engine: AsyncEngine, *, now: Callable[[], datetime] = _utc_now) -> None:
        """``now``: the wall clock, aware UTC (tests pass their own to expire entries)."""
        dialect = engine.dialect.name
        if dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"the database cache runs on SQLite or PostgreSQL, not {dialect}")
        self._engine = engine
        self._insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        self._now = now
        self._next_purge = now()  # the first write purges what earlier runs left behind

    async def get(self, key: str) -> bytes | None:
        query = select(_table.c.value, _table.c.counter).where(
            _table.c.key == stored_key(key), _expired_at > self._now()
        )
        async with self._unavailable("get"), self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        count_lookup(key, row is not None)
        if row is None:
            return None
        value, counter = row
        return str(counter).encode() if counter is not None else bytes(value or b"")

    async def set(self, key: str, value: bytes, ttl_s: int) -> None:
        row = self._insert(_table).values(
            key=stored_key(key), value=value, counter=None, expires_at=self._expiry(ttl_s)
        )
        upsert = row.on_conflict_do_update(
            index_elements=[_table.c.key],
            set_={
                "value": row.excluded.value,
                "counter": None,
                "expires_at": row.excluded.expires_at,
            },
        )
        await self._write("set", upsert)

    async def delete(self, key: str) -> None:
        async with self._unavailable("delete"), self._engine.begin() as conn:
            await conn.execute(delete(_table).where(_table.c.key == stored_key(key)))

    async def incr(self, key: str, ttl_s: int) -> int:
        now = self._now()
        expired = _expired_at <= now
        row = self._insert(_table).values(
            key=stored_key(key), value=None, counter=1, expires_at=self._expiry(ttl_s, now)
        )
        upsert = row.on_conflict_do_update(
            index_elements=[_table.c.key],
            set_={
                "counter": case((expired, 1), else_=_table.c.counter + 1),
                "value": case((expired, None), else_=_table.c.value),
                "expires_at": case((expired, row.excluded.expires_at), else_=_expired_at),
            },
        )
        counter = await self._write("incr", upsert.returning(_table.c.counter))
        if counter is None:
            # A live value written by ``set``: left as it was (NULL + 1 is NULL).
            raise ValueError(f"cache key {key!r} does not hold a counter")
        return int(counter)

    async def add_if_absent(self, key: str, value: bytes, ttl_s: int) -> bool:
        now = self._now()
        row = self._insert(_table).values(
            key=stored_key(key), value=value, counter=None, expires_at=self._expiry(ttl_s, now)
        )
        upsert = row.on_conflict_do_update(
            index_elements=[_table.c.key],
            set_={
                "value": row.excluded.value,
                "counter": None,
                "expires_at": row.excluded.expires_at,
            },
            where=_expired_at <= now,  # an expired row counts as absent
        )
        return await self._write("add_if_absent", upsert.returning(_table.c.key)) is not None

    async def purge_expired(self) -> int:
        """Delete up to ``PURGE_BATCH`` expired rows; how many went."""
        doomed = select(_table.c.key).where(_expired_at <= self._now()).limit(PURGE_BATCH)
        async with self._unavailable("purge"), self._engine.begin() as conn:
            result = await conn.execute(delete(_table).where(_table.c.key.in_(doomed)))
        return int(result.rowcount)

    async def close(self) -> None:
        """Nothing to release: the engine belongs to the container."""

    def _expiry(self, ttl_s: int, now: datetime | None = None) -> datetime:
        # The same rule as the other backends (NATS KV reads a zero TTL as "keep forever").
        if ttl_s < 1:
            raise ValueError(f"ttl_s must be at least 1 second, got {ttl_s}")
        return (now or self._now()) + timedelta(seconds=ttl_s)

    async def _write(self, operation: str, statement: Any) -> Any:
        """Run one write; its ``RETURNING`` value (None when no row came back)."""
        async with self._unavailable(operation), self._engine.begin() as conn:
            result = await conn.execute(statement)
            found = result.first() if result.returns_rows else None
        if self._now() >= self._next_purge:
            self._next_purge = self._now() + PURGE_EVERY
            purged = await self.purge_expired()
            if purged:
                log.info("cache.purged", extra={"rows": purged})
        return found[0] if found is not None else None

    @asynccontextmanager
    async def _unavailable(self, operation: str) -> AsyncIterator[None]:
        """A database that cannot be reached becomes ``ExternalUnavailable`` (a 503)."""
        try:
            yield
        except (OperationalError, InterfaceError, OSError) as exc:
            log.warning("cache.unavailable", extra={"operation": operation, "error": repr(exc)})
            raise ExternalUnavailable(f"cache (database) is unavailable: {exc!r}") from exc
