"""The lead list's page, read on PostgreSQL straight through asyncpg.

Under load, SQLAlchemy's execution and result layers (execution context, cursor adapter,
``Row`` objects) and the ORM session's transaction bookkeeping around one SELECT were about a
fifth of the list's CPU. The statement stays the one ``leads._page_statement`` builds for both
databases; here it is compiled once per shape and ``IN``-list length for the dialect, a
request's parameters are processed by the columns' types and put in the compiled order, and
the rows come from asyncpg's ``fetch``. A lead's column types need no result processing on
asyncpg (UUIDs and aware timestamps arrive as SQLAlchemy hands them on; JSON is decoded by the
codec the dialect installs on connect): the tests compare this read with SQLAlchemy's, row for
row, for every scope and filter.

Where the read runs, so that it sees what the unit of work would:
- the list is the unit's first statement (the session has no transaction): on a connection
  checked out of the engine's pool for this one SELECT, outside any transaction (one statement
  sees one snapshot), returned at once (nothing to roll back);
- inside a transaction asyncpg has begun: on that transaction's connection.
Elsewhere (SQLite, a transaction SQLAlchemy has opened but not begun on the driver)
``fetch_page`` answers ``None`` and the caller runs the statement through SQLAlchemy.

Reads on pooled connections wait their turn at a first-come-first-served gate as wide as the
pool's steady size. The pool's own queue lets a newcomer take a connection that was just handed
back while the waiter it woke is still scheduled; that waiter then queues again at the back.
With 64 requests on 20 connections, the median request took its connection at once while one in
a hundred waited 0.7 s for it: the list's p99 was the pool's unfairness, not its work.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from sqlalchemy import BindParameter, Select
from sqlalchemy.engine import Compiled, Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.pool import Pool
from sqlalchemy.util import greenlet_spawn

_Processor = Callable[[Any], Any]


class _Prepared:
    """One page shape compiled for asyncpg: the SQL, and how a request's named values become
    its positional arguments."""

    __slots__ = ("constants", "expansion", "order", "processors", "sql")

    def __init__(self, compiled: Compiled, dialect: Dialect, params: dict[str, Any]) -> None:
        self.processors: dict[str, tuple[_Processor, bool]] = {}
        for name, bind in compiled.binds.items():
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if isinstance(bind, BindParameter) and process is not None:
                self.processors[name] = (process, bind.expanding)
        state = compiled.construct_expanded_state(self.process(params))
        self.sql = state.statement
        self.order = tuple(state.positiontup or ())
        self.expansion = {
            name: tuple(expanded) for name, expanded in state.parameter_expansion.items()
        }
        expanded_names = {n for names in self.expansion.values() for n in names}
        # What no request binds: the statement's own literals (the tag separator). The caller
        # has checked that every named parameter is bound, so only anonymous ones are here.
        self.constants = {
            name: state.parameters[name]
            for name in self.order
            if name not in params and name not in expanded_names
        }

    def process(self, params: dict[str, Any]) -> dict[str, Any]:
        if not self.processors:
            return params
        found = dict(params)
        for name, (process, expanding) in self.processors.items():
            if name in found:
                value = found[name]
                found[name] = [process(v) for v in value] if expanding else process(value)
        return found

    def arguments(self, params: dict[str, Any]) -> list[Any]:
        values = {**self.constants, **self.process(params)}
        for name, expanded in self.expansion.items():
            values.update(zip(expanded, values.pop(name), strict=True))
        return [values[name] for name in self.order]


_PREPARED: dict[Hashable, _Prepared] = {}


def _prepared(
    key: Hashable, stmt: Select[Any], dialect: Dialect, params: dict[str, Any]
) -> _Prepared:
    lengths = tuple(
        (name, len(value)) for name, value in params.items() if isinstance(value, list | tuple)
    )
    found = _PREPARED.get((key, lengths))
    if found is None:
        found = _Prepared(stmt.compile(dialect=dialect), dialect, params)
        if len(_PREPARED) < 1024:  # a few per page shape (``IN`` lists of 1 to 12 statuses)
            _PREPARED[(key, lengths)] = found
    return found


_GATES: weakref.WeakKeyDictionary[Pool, tuple[asyncio.AbstractEventLoop, asyncio.Semaphore]] = (
    weakref.WeakKeyDictionary()
)


def _gate(pool: Pool) -> contextlib.AbstractAsyncContextManager[Any]:
    """The pool's turn-taking gate in this event loop (``asyncio.Semaphore`` serves its waiters
    in order and lets no newcomer pass while one waits); none for a pool without a size (a
    ``NullPool`` opens a connection per checkout: there is nothing to queue for)."""
    size = getattr(pool, "size", None)
    if size is None:
        return contextlib.nullcontext()
    loop = asyncio.get_running_loop()
    found = _GATES.get(pool)
    if found is None or found[0] is not loop:
        found = (loop, asyncio.Semaphore(max(size(), 1)))
        _GATES[pool] = found
    return found[1]


async def fetch_page(
    session: AsyncSession, key: Hashable, stmt: Select[Any], params: dict[str, Any]
) -> Sequence[Any] | None:
    """The rows of ``stmt`` (asyncpg records, addressable by column name) with ``params``, or
    ``None`` when this session cannot read them here exactly as SQLAlchemy would."""
    bind = session.bind
    if bind is None or bind.dialect.driver != "asyncpg":
        return None
    if not session.in_transaction() and isinstance(bind, AsyncEngine):
        prepared = _prepared(key, stmt, bind.dialect, params)
        async with _gate(bind.sync_engine.pool):
            pooled = await bind.raw_connection()
            try:
                rows: Sequence[Any] = await pooled.driver_connection.fetch(
                    prepared.sql, *prepared.arguments(params)
                )
            except BaseException as failed:
                # A query error leaves the connection idle and fit for reuse; a broken
                # connection, or one whose fetch was cancelled half-way (a client gone), never
                # goes back.
                if not isinstance(failed, Exception) or pooled.driver_connection.is_closed():
                    pooled.invalidate()
                raise
            finally:
                await greenlet_spawn(pooled.close)
        return rows
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    if driver is None or not driver.is_in_transaction():
        return None
    prepared = _prepared(key, stmt, connection.dialect, params)
    found: Sequence[Any] = await driver.fetch(prepared.sql, *prepared.arguments(params))
    return found
