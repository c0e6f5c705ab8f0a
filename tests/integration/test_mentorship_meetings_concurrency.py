"""Bookings and cleanup under real concurrent transactions on PostgreSQL (mentorship.md §9
checks 4 and 7): each racer in its own unit of work on its own connection, started together."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from mas.adapters.db.tokens.wallet_tables import token_usage
from mas.adapters.fakes.platform import FakeClock
from mas.core.identity.policy import Role
from mas.core.mentorship.meetings.model import SlotStatus
from mas.core.platform.errors import Conflict
from tests.conftest import Database, make_settings, open_container
from tests.integration.test_mentorship_meetings import (
    HALF,
    NOW,
    TEN,
    ask,
    balance,
    give,
    person,
    publish,
)

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


async def _ledger(c: Any, *where: Any) -> int:
    async with c.sessions() as session:
        return int(
            await session.scalar(select(func.count()).select_from(token_usage).where(*where)) or 0
        )


async def test_two_students_racing_for_one_slot_move_one_token(racing: Any) -> None:
    mentor = await person(racing, Role.EXPERT)
    [slot] = await publish(racing, mentor, TEN)
    students = [await person(racing, Role.USER) for _ in range(2)]
    for student in students:
        await give(racing, student, 1)
    start = asyncio.Event()

    async def book(student: Any) -> str:
        await start.wait()
        try:
            await racing.mentorship.meetings.bookings.book(student, ask(mentor))
        except Conflict as refused:
            return refused.code
        return "booked"

    racers = [asyncio.create_task(book(s)) for s in students]
    start.set()
    outcomes = await asyncio.gather(*racers)
    assert sorted(outcomes) == ["booked", "slot_taken"]
    balances = sorted([await balance(racing, s) for s in students])
    assert balances == [0, 1]
    assert await _ledger(racing, token_usage.c.slot_id == slot.id) == 1


async def test_one_student_racing_for_two_overlapping_slots_books_one(racing: Any) -> None:
    mentors = [await person(racing, Role.EXPERT) for _ in range(2)]
    for mentor in mentors:
        await publish(racing, mentor, TEN)
    student = await person(racing, Role.USER)
    await give(racing, student, 2)
    start = asyncio.Event()

    async def book(mentor: Any) -> str:
        await start.wait()
        try:
            await racing.mentorship.meetings.bookings.book(student, ask(mentor))
        except Conflict as refused:
            return refused.code
        return "booked"

    racers = [asyncio.create_task(book(m)) for m in mentors]
    start.set()
    assert sorted(await asyncio.gather(*racers)) == ["booked", "overlapping_booking"]
    assert await balance(racing, student) == 1


async def test_two_cleanup_runs_at_once_refund_once(racing: Any) -> None:
    mentor = await person(racing, Role.EXPERT)
    students = [await person(racing, Role.USER) for _ in range(5)]
    slots = []
    for index, student in enumerate(students):
        await give(racing, student, 1)
        [slot] = await publish(racing, mentor, TEN + index * HALF)
        await racing.mentorship.meetings.bookings.book(student, ask(mentor, TEN + index * HALF))
        slots.append(slot)
    racing.clock.set(TEN + 6 * HALF)
    cleanup = racing.mentorship.meetings.cleanup
    moved = await asyncio.gather(cleanup.run(), cleanup.run())
    assert sum(moved) == 5
    for student in students:
        assert await balance(racing, student) == 1
    for slot in slots:
        assert await _ledger(racing, token_usage.c.slot_id == slot.id) == 2
        async with racing.uow() as uow:
            assert (await uow.slots.get(slot.id)).status is SlotStatus.EXPIRED
