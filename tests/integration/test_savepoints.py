"""A ``begin_nested()`` block is part of its transaction on both databases: the caller's
rollback takes its writes back, even when the savepoint is the transaction's first statement
(on SQLite the driver would otherwise make that savepoint the transaction, and its release a
commit)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from mas.adapters.db.session import make_engine, make_sessionmaker
from tests.conftest import Database

# The rows must really commit (or not) on connections of their own.
pytestmark = pytest.mark.committing


@pytest.fixture
async def engine(database: Database) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database.url)
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE savepoint_probe (x INTEGER PRIMARY KEY)"))
    yield engine
    async with engine.begin() as conn:
        await conn.execute(text("DROP TABLE savepoint_probe"))
    await engine.dispose()


async def stored(engine: AsyncEngine) -> list[int]:
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT x FROM savepoint_probe ORDER BY x"))
        return list(rows.scalars())


async def test_a_rollback_takes_back_a_savepoint_that_opened_the_transaction(
    engine: AsyncEngine,
) -> None:
    sessions = make_sessionmaker(engine)
    async with sessions() as session, session.begin():
        async with session.begin_nested():
            await session.execute(text("INSERT INTO savepoint_probe VALUES (1)"))
        await session.rollback()
    assert await stored(engine) == []


async def test_a_failed_savepoint_leaves_the_rest_of_the_transaction(engine: AsyncEngine) -> None:
    sessions = make_sessionmaker(engine)
    async with sessions() as session, session.begin():
        async with session.begin_nested():
            await session.execute(text("INSERT INTO savepoint_probe VALUES (1)"))
    async with sessions() as session, session.begin():
        with pytest.raises(IntegrityError):
            async with session.begin_nested():
                await session.execute(text("INSERT INTO savepoint_probe VALUES (1)"))
        await session.execute(text("INSERT INTO savepoint_probe VALUES (2)"))
    async with sessions() as session, session.begin():
        await session.execute(text("INSERT INTO savepoint_probe VALUES (3)"))
        with pytest.raises(IntegrityError):
            async with session.begin_nested():
                await session.execute(text("INSERT INTO savepoint_probe VALUES (3)"))
        await session.execute(text("INSERT INTO savepoint_probe VALUES (4)"))
    assert await stored(engine) == [1, 2, 3, 4]
