"""Engine and session factory for SQLite (embedded) and PostgreSQL (production)."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as AsyncSession


def make_engine(
    url: str, *, pool_min: int = 5, pool_max: int = 20, echo: bool = False
) -> AsyncEngine:
    if url.startswith("sqlite"):
        ensure_sqlite_folder(url)
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "savepoint", _sqlite_begin_before_savepoint)
        return engine
    return create_async_engine(
        url,
        echo=echo,
        pool_size=pool_min,
        max_overflow=max(pool_max - pool_min, 0),
        # No pre-ping: it costs a round trip per checkout; a dropped connection is discarded
        # by the pool when it fails, and recycling keeps idle ones from going stale.
        pool_recycle=1800,
        json_deserializer=json_loads,
    )


def json_loads(text: str | bytes) -> Any:
    """JSON columns as read from PostgreSQL: msgspec's decoder (several times faster than the
    standard library's on every lead of a list), the standard library's for a number beyond a
    float's range (``1e400``, which jsonb keeps and msgspec refuses)."""
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError:
        return json.loads(text)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    try:
        # busy_timeout first: it makes every later statement wait for a lock instead of failing.
        cursor.execute("PRAGMA busy_timeout=30000")
        _use_wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _sqlite_begin_before_savepoint(conn: Any, _name: str) -> None:
    """The sqlite3 module begins a transaction only before a data-changing statement, so a
    SAVEPOINT as a transaction's first statement would itself be the outermost transaction and
    its RELEASE would commit: the writes of a ``begin_nested()`` block would survive the
    caller's rollback. Begin the real transaction first."""
    driver = conn.connection.driver_connection
    if not driver.in_transaction:
        conn.exec_driver_sql("BEGIN")


WAL_ATTEMPTS = 50


def _use_wal(cursor: Any) -> None:
    """WAL lets the CLI read while the server writes. The mode is stored in the file, so a
    connection only switches when the file is not in WAL yet. Switching (and, while another
    connection recovers the log, even asking) can answer SQLITE_BUSY without consulting the
    busy handler: many connections opening at once on one file must retry, not fail."""
    for attempt in range(WAL_ATTEMPTS):
        try:
            cursor.execute("PRAGMA journal_mode")
            row = cursor.fetchone()
            if row is not None and str(row[0]).lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if attempt == WAL_ATTEMPTS - 1:
                raise
            time.sleep(0.01 * (attempt + 1))


def ensure_sqlite_folder(url: str) -> None:
    """Create the folder of a SQLite file (``./var`` on a fresh clone)."""
    if not url.startswith("sqlite"):
        return
    path = url.split("///", 1)[-1] if "///" in url else ""
    if path and path != ":memory:" and not path.startswith("file:"):
        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)


def sqlite_file_missing(url: str) -> bool:
    if not url.startswith("sqlite") or "///" not in url:
        return False
    path = url.split("///", 1)[1]
    return (
        bool(path)
        and path != ":memory:"
        and not path.startswith("file:")
        and not Path(path).exists()
    )
