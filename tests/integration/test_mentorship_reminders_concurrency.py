"""The reminders cron run twice at once on PostgreSQL (two schedulers around a restart): the
compare-and-set stamp lets one transaction send each reminder; the other sends nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from mas.adapters.db.platform.tables import OutboxMessageRow
from mas.adapters.fakes.platform import FakeClock
from mas.core.identity.policy import Role
from tests.conftest import Database, make_settings, open_container
from tests.integration.test_mentorship_meetings import NOW, TEN, ask, give, person, publish

pytestmark = pytest.mark.committing  # concurrent transactions, real commits


@pytest.fixture
async def racing(database: Database, tmp_path: Path) -> AsyncIterator[Any]:
    if not database.url.startswith("postgresql"):
        pytest.skip("row locks between transactions: PostgreSQL (SQLite has one writer)")
    clock = FakeClock(NOW)
    c = await open_container(make_settings(database.url, tmp_path, db_pool_max=20), clock=clock)
    yield c, clock
    await c.close()


async def test_two_runs_at_once_send_each_reminder_once(racing: Any) -> None:
    c, clock = racing
    mentors = [await person(c, Role.EXPERT) for _ in range(3)]
    slots = []
    for mentor in mentors:
        student = await person(c, Role.USER)
        await publish(c, mentor, TEN)
        await give(c, student, 1)
        slot = await c.mentorship.meetings.bookings.book(student, ask(mentor))
        await c.mentorship.meetings.bookings.approve(mentor, slot.id)
        slots.append(slot.id)
    clock.set(TEN - timedelta(hours=20))
    start = asyncio.Event()

    async def run() -> int:
        await start.wait()
        return int(await c.mentorship.calendar.reminders.run())

    racers = [asyncio.create_task(run()) for _ in range(2)]
    start.set()
    assert sum(await asyncio.gather(*racers)) == 3
    async with c.sessions() as s:
        mails = await s.scalar(
            select(func.count())
            .select_from(OutboxMessageRow)
            .where(
                OutboxMessageRow.template == "mentorship.meeting_reminder",
                OutboxMessageRow.related_id.in_(slots),
            )
        )
    assert mails == 6  # a student and a mentor for each of the three meetings
