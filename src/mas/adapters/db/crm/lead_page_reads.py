"""The lead list's page, read on PostgreSQL straight through asyncpg.

Under load, SQLAlchemy's execution and result layers (execution context, cursor adapter,
``Row`` objects) were about a tenth of the list's CPU. The statement stays the one
``leads._page_statement`` builds for both databases; here it is compiled once per shape for
the connection's dialect, a request's parameters are processed by the columns' types and
expanded (``IN`` lists) as SQLAlchemy would do it, and the rows come from asyncpg's ``fetch``
on the pooled connection's driver. A lead's column types need no result processing on asyncpg
(UUIDs and aware timestamps arrive as SQLAlchemy hands them on; JSON is decoded by the codec
the dialect installs on connect): the tests compare this read with SQLAlchemy's, row for row.

Only where the driver connection reads what the unit of work would: in autocommit (the list
is the unit's first statement) or inside a transaction asyncpg has begun. Elsewhere (SQLite,
a transaction SQLAlchemy has opened but not yet begun) ``fetch_page`` answers ``None`` and the
caller runs the statement through SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

from sqlalchemy import BindParameter, Select
from sqlalchemy.engine import Compiled
from sqlalchemy.ext.asyncio import AsyncConnection

_Processor = Callable[[Any], Any]
_COMPILED: dict[Hashable, tuple[Compiled, dict[str, tuple[_Processor, bool]]]] = {}


def _compiled(
    key: Hashable, stmt: Select[Any], connection: AsyncConnection
) -> tuple[Compiled, dict[str, tuple[_Processor, bool]]]:
    found = _COMPILED.get(key)
    if found is not None:
        return found
    dialect = connection.dialect
    compiled = stmt.compile(dialect=dialect)
    processors: dict[str, tuple[_Processor, bool]] = {}
    for name, bind in compiled.binds.items():
        if not isinstance(bind, BindParameter):
            continue
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors[name] = (process, bind.expanding)
    if len(_COMPILED) < 512:  # one per page shape, as the statements themselves
        _COMPILED[key] = (compiled, processors)
    return compiled, processors


async def fetch_page(
    connection: AsyncConnection,
    key: Hashable,
    stmt: Select[Any],
    params: dict[str, Any],
    *,
    autocommit: bool,
) -> Sequence[Any] | None:
    """The rows of ``stmt`` (asyncpg records, addressable by column name) with ``params``, or
    ``None`` when this connection cannot read them exactly as SQLAlchemy would."""
    if connection.dialect.driver != "asyncpg":
        return None
    driver = (await connection.get_raw_connection()).driver_connection
    if driver is None or not (autocommit or driver.is_in_transaction()):
        return None
    compiled, processors = _compiled(key, stmt, connection)
    if processors:
        params = dict(params)
        for name, (process, expanding) in processors.items():
            if name in params:
                value = params[name]
                params[name] = [process(v) for v in value] if expanding else process(value)
    state = compiled.construct_expanded_state(params)
    rows: Sequence[Any] = await driver.fetch(state.statement, *state.positional_parameters)
    return rows
