"""A booking's ``Idempotency-Key`` under real concurrent transactions on PostgreSQL: two
identical requests started together hold one token and answer the same slot."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from mas.adapters.db.mentorship.coaching_tables import SlotBookingKeyRow
from mas.adapters.db.tokens.wallet_tables import token_usage
from mas.adapters.fakes.platform import FakeClock
from mas.core.identity.policy import Role
from tests.conftest import Database, make_settings, open_container
from tests.integration.test_mentorship_meetings import NOW, TEN, ask, balance, give, person, publish

pytestmark = pytest.mark.committing  # concurrent transactions, real commits


@pytest.fixture
async def racing(database: Database, tmp_path: Path) -> AsyncIterator[Any]:
    if not database.url.startswith("postgresql"):
        pytest.skip("row locks between transactions: PostgreSQL (SQLite has one writer)")
    c = await open_container(
        make_settings(database.url, tmp_path, db_pool_max=20), clock=FakeClock(NOW)
    )
    yield c
    await c.close()


async def test_two_identical_keyed_requests_hold_one_token(racing: Any) -> None:
    mentor, student = await person(racing, Role.EXPERT), await person(racing, Role.USER)
    [slot] = await publish(racing, mentor, TEN)
    await give(racing, student, 3)
    start = asyncio.Event()

    async def book() -> Any:
        await start.wait()
        return await racing.mentorship.meetings.bookings.book_once(
            student, ask(mentor), "double-click"
        )

    racers = [asyncio.create_task(book()) for _ in range(2)]
    start.set()
    answers = await asyncio.gather(*racers)
    assert [a.slot.id for a in answers] == [slot.id, slot.id]
    assert sorted(a.replayed for a in answers) == [False, True]
    assert await balance(racing, student) == 2
    async with racing.sessions() as session:
        holds = await session.scalar(
            select(func.count()).select_from(token_usage).where(token_usage.c.slot_id == slot.id)
        )
        keys = await session.scalar(select(func.count()).select_from(SlotBookingKeyRow))
    assert (holds, keys) == (1, 1)
