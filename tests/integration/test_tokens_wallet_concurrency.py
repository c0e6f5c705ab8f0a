"""The purse under real concurrent transactions on PostgreSQL (issue 10): every booking in its
own unit of work on its own connection, all started together."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from mas.adapters.db.tokens.wallet_tables import token_usage
from mas.core.identity.policy import Role
from mas.core.platform.ids import uuid7
from mas.core.tokens.wallet.purse import InsufficientTokens
from tests.conftest import Database, make_settings, open_container
from tests.integration.test_tokens_wallet import credit, grant, hold, person, total

pytestmark = pytest.mark.committing  # concurrent transactions, real commits


@pytest.fixture
async def wide(database: Database, tmp_path: Path) -> AsyncIterator[Any]:
    """A container whose pool lets 40 transactions run at once (the server takes 100
    connections, shared with other suites): the hundred bookings queue for them and race in
    waves of 40 on the same wallet row."""
    if not database.url.startswith("postgresql"):
        pytest.skip("row locks between transactions: PostgreSQL (SQLite has one writer)")
    c = await open_container(make_settings(database.url, tmp_path, db_pool_max=40))
    yield c
    await c.close()


async def _rows(c: Any, *where: Any) -> int:
    async with c.sessions() as session:
        return int(
            await session.scalar(select(func.count()).select_from(token_usage).where(*where)) or 0
        )


async def test_one_hundred_bookings_on_ten_tokens_hold_exactly_ten(wide: Any) -> None:
    student = await person(wide)
    await credit(wide, student, 10)
    start = asyncio.Event()

    async def book() -> bool:
        await start.wait()
        try:
            await hold(wide, student, uuid7())
        except InsufficientTokens:
            return False
        return True

    racers = [asyncio.create_task(book()) for _ in range(100)]
    start.set()
    outcomes = await asyncio.gather(*racers)
    assert outcomes.count(True) == 10
    assert await total(wide, student) == 0
    assert await _rows(wide, token_usage.c.usage_type == "meeting_booking") == 10
    assert (await wide.tokens.wallet.accounts.check()).drifts == []


async def test_grant_and_wallet_drain_together_under_concurrency(wide: Any) -> None:
    admin, student = await person(wide, Role.ADMIN), await person(wide)
    await credit(wide, student, 4)
    await grant(wide, admin, student, 3)

    async def book() -> bool:
        try:
            await hold(wide, student, uuid7())
        except InsufficientTokens:
            return False
        return True

    outcomes = await asyncio.gather(*(book() for _ in range(30)))
    assert outcomes.count(True) == 7
    assert await total(wide, student) == 0
    assert (await wide.tokens.wallet.accounts.check()).drifts == []


async def test_the_same_refund_twice_at_once_writes_one_row(wide: Any) -> None:
    student = await person(wide)
    await credit(wide, student, 1)
    slot = uuid7()
    await hold(wide, student, slot)

    async def refund() -> Any:
        async with wide.uow() as uow:
            rows = await wide.tokens.wallet.purse.refund_meeting(
                uow, student.user_id, slot, "expired"
            )
            await asyncio.sleep(0.05)  # both reach the wallet lock before either commits
            await uow.commit()
        return rows

    results = await asyncio.gather(*(refund() for _ in range(2)))
    assert sorted(r is None for r in results) == [False, True]
    assert await _rows(wide, token_usage.c.usage_type == "refund") == 1
    assert await total(wide, student) == 1
    assert (await wide.tokens.wallet.accounts.check()).drifts == []
