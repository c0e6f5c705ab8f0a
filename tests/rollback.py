"""PostgreSQL tests in one transaction each, rolled back at the end: nothing to truncate.

The fixture opens one connection per test and begins a transaction on it. The test's container
gets a session factory bound to that connection with ``join_transaction_mode="create_savepoint"``
(SQLAlchemy's recipe for joining an external transaction): a unit of work's transaction is a
SAVEPOINT, its commit releases it, its rollback returns to it. Code that takes the engine itself
(the ledger's batcher, the tests' own SQL, the health check) gets a ``JoinedEngine``: its
``begin()`` and ``connect()`` are SAVEPOINTs on the same connection, committed or rolled back as
the real ones would be. At the end the outer transaction is rolled back; then the fixture checks
that every table is empty, so a test that committed through another connection fails loudly
instead of leaving rows for the next one.

One connection runs one statement at a time (asyncpg) and its savepoints nest: two units of
work interleaved on it are not two transactions (no row lock can make one wait for the other).
A test that runs transactions concurrently, or commits through another engine or process, is
marked ``@pytest.mark.committing``: it gets real commits on its own connections, and the tables
it wrote are emptied after it. A savepoint released out of order (the sign of concurrent use)
fails the test with that advice.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    AsyncTransaction,
    async_sessionmaker,
)

from mas.adapters.db.session import make_sessionmaker

T = TypeVar("T")


class JoinedConnection:
    """What ``JoinedEngine.connect()``/``begin()`` yield: the test's connection, in a SAVEPOINT.

    ``connect()``: the savepoint opens with the first statement; ``commit()`` releases it (the
    next statement opens another), ``rollback()`` or leaving without a commit rolls it back.
    ``begin()``: released on a clean exit. Autocommit: each statement in its own savepoint.
    """

    def __init__(self, conn: AsyncConnection, *, autocommit: bool, commit_on_exit: bool) -> None:
        self._conn = conn
        self._autocommit = autocommit
        self._commit_on_exit = commit_on_exit
        self._savepoint: AsyncTransaction | None = None

    async def __aenter__(self) -> JoinedConnection:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None and self._commit_on_exit:
            await self.commit()
        else:
            await self.rollback()

    async def _run(self, method: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        if self._autocommit:
            async with self._conn.begin_nested():
                return await method(*args, **kwargs)
        if self._savepoint is None or not self._savepoint.is_active:
            self._savepoint = await self._conn.begin_nested()
        return await method(*args, **kwargs)

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        return await self._run(self._conn.execute, *args, **kwargs)

    async def scalar(self, *args: Any, **kwargs: Any) -> Any:
        return await self._run(self._conn.scalar, *args, **kwargs)

    async def scalars(self, *args: Any, **kwargs: Any) -> Any:
        return await self._run(self._conn.scalars, *args, **kwargs)

    async def exec_driver_sql(self, *args: Any, **kwargs: Any) -> Any:
        return await self._run(self._conn.exec_driver_sql, *args, **kwargs)

    async def run_sync(self, *args: Any, **kwargs: Any) -> Any:
        return await self._run(self._conn.run_sync, *args, **kwargs)

    async def commit(self) -> None:
        savepoint, self._savepoint = self._savepoint, None
        if savepoint is not None and savepoint.is_active:
            await savepoint.commit()

    async def rollback(self) -> None:
        savepoint, self._savepoint = self._savepoint, None
        if savepoint is not None and savepoint.is_active:
            await savepoint.rollback()

    def __getattr__(self, name: str) -> Any:
        """``dialect``, ``info`` and the rest: the connection's own."""
        return getattr(self._conn, name)


class JoinedEngine:
    """Stands in for the container's ``AsyncEngine``: each use is a SAVEPOINT on the test's
    connection; ``execution_options(isolation_level="AUTOCOMMIT")`` makes every statement its
    own; ``dispose()`` leaves the connection to the fixture."""

    def __init__(self, conn: AsyncConnection, *, autocommit: bool = False) -> None:
        self._conn = conn
        self._autocommit = autocommit
        self.dialect = conn.dialect
        self.url = conn.engine.url

    def execution_options(self, **options: Any) -> JoinedEngine:
        autocommit = options.get("isolation_level") == "AUTOCOMMIT" or self._autocommit
        return JoinedEngine(self._conn, autocommit=autocommit)

    def connect(self) -> JoinedConnection:
        return JoinedConnection(self._conn, autocommit=self._autocommit, commit_on_exit=False)

    def begin(self) -> JoinedConnection:
        return JoinedConnection(self._conn, autocommit=self._autocommit, commit_on_exit=True)

    async def dispose(self) -> None:
        return None


class SavepointOrder:
    """Savepoints on the test's connection must close innermost first; anything else means two
    pieces of work used the connection at once."""

    def __init__(self) -> None:
        self.broken: list[str] = []

    def closed(self, conn: Connection, name: str, _context: Any) -> None:
        innermost = conn.get_nested_transaction()
        expected = getattr(innermost, "_savepoint", None)
        if name != expected:
            self.broken.append(f"{name} closed while {expected} was the innermost")


@asynccontextmanager
async def joined(
    engine: AsyncEngine,
) -> AsyncIterator[tuple[AsyncEngine, async_sessionmaker[AsyncSession], SavepointOrder]]:
    """One connection and one transaction for a test; rolled back when it ends."""
    async with engine.connect() as conn:
        outer = await conn.begin()
        order = SavepointOrder()
        sync = conn.sync_connection
        assert sync is not None
        event.listen(sync, "release_savepoint", order.closed)
        event.listen(sync, "rollback_savepoint", order.closed)
        sessions = make_sessionmaker(cast(AsyncEngine, conn))
        sessions.configure(join_transaction_mode="create_savepoint")
        try:
            yield cast(AsyncEngine, JoinedEngine(conn)), sessions, order
        finally:
            await _roll_back_or_discard(conn, outer)


async def _roll_back_or_discard(conn: AsyncConnection, outer: AsyncTransaction) -> None:
    """Roll the test's transaction back; a connection left in any other state (a test that
    used it concurrently) is closed, never handed to the next test."""
    try:
        if outer.is_active:
            await outer.rollback()
        driver = (await conn.get_raw_connection()).driver_connection
        clean = not conn.in_transaction() and not (driver is None or driver.is_in_transaction())
    except Exception:  # noqa: BLE001 - whatever went wrong, the connection is not reused
        clean = False
    if not clean:
        await conn.invalidate()


def _nonempty_sql(tables: list[str]) -> str:
    return " UNION ALL ".join(
        f"SELECT '{table}' WHERE EXISTS (SELECT 1 FROM {table})" for table in tables
    )


async def nonempty_tables(engine: AsyncEngine, tables: list[str]) -> list[str]:
    """The tables with at least one row (one round trip)."""
    async with engine.connect() as conn:
        return list((await conn.execute(text(_nonempty_sql(tables)))).scalars())


async def empty_tables(engine: AsyncEngine, tables: list[str]) -> list[str]:
    """Empty every table that has rows (children first); returns which ones had.

    Cheaper than one ``TRUNCATE`` of every table: finding the written ones is one query, and
    a ``DELETE`` of a few rows costs far less than a truncate (new files for every table)."""
    written = set(await nonempty_tables(engine, tables))
    if not written:
        return []
    try:
        async with engine.begin() as conn:
            for table in reversed(tables):  # ``tables`` is sorted parents first
                if table in written:
                    await conn.execute(text(f"DELETE FROM {table}"))
    except DBAPIError:  # a cycle of foreign keys: truncate them all at once
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {', '.join(tables)}"))
    return sorted(written)
