"""The room's participation rows on SQLite and PostgreSQL, read as the meetings part's
attendance (mentorship.md §4, §6, §9 checks 10-11): the mentor's completion, the
``mentorship.auto_complete`` cron and the cleanup's no-show reasons, on a frozen clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from mas.adapters.db.tokens.earnings_tables import MentorTransactionRow
from mas.adapters.fakes.platform import FakeClock
from mas.core.identity.policy import Caller
from mas.core.mentorship.meetings.model import SlotStatus, SlotView
from mas.core.mentorship.room.model import ParticipantRole
from mas.core.platform.errors import Conflict, InvalidState
from tests.conftest import Database, make_settings, open_container
from tests.integration.test_mentorship_meetings import HALF, NOW, TEN, balance, booked

MINUTE = timedelta(minutes=1)
EARNINGS = MentorTransactionRow.__table__


@pytest.fixture
async def meet(database: Database, tmp_path: Path) -> AsyncIterator[Any]:
    c = await open_container(
        make_settings(database.url, tmp_path), database=database.joined, clock=FakeClock(NOW)
    )
    yield c
    await c.close()


async def confirmed(c: Any) -> tuple[Caller, Caller, SlotView]:
    mentor, student, slot = await booked(c)
    await c.mentorship.meetings.bookings.approve(mentor, slot.id)
    return mentor, student, slot


async def stay(c: Any, slot: SlotView, who: Caller, role: ParticipantRole, minutes: int) -> None:
    """``who`` joins now and leaves ``minutes`` later (the clock is left where they left)."""
    log = c.mentorship.room.participation
    row = await log.opened(slot.id, who.user_id, role)
    c.clock.advance(minutes=minutes)
    assert await log.closed(row)
    assert not await log.closed(row)  # a second close (leave, then the socket drops) is a no-op


async def credits(c: Any, slot: SlotView) -> int:
    async with c.sessions() as session:
        found = await session.scalar(
            select(func.count()).select_from(EARNINGS).where(EARNINGS.c.slot_id == slot.id)
        )
    return int(found or 0)


async def test_rows_open_and_close_and_an_open_row_stops_at_the_slot_end(meet: Any) -> None:
    mentor, student, slot = await confirmed(meet)
    log = meet.mentorship.room.participation
    meet.clock.set(TEN)
    await log.opened(slot.id, student.user_id, ParticipantRole.STUDENT)
    await log.opened(slot.id, mentor.user_id, ParticipantRole.MENTOR)
    rows = await log.rows(slot.id)
    assert [(r.role, r.left_at) for r in rows] == [
        (ParticipantRole.STUDENT, None),
        (ParticipantRole.MENTOR, None),
    ]
    async with meet.uow() as uow:
        meeting = await uow.slots.get(slot.id)
    meet.clock.set(TEN + 9 * MINUTE)
    assert not (await log.of(meeting)).verified
    meet.clock.set(TEN + 3 * HALF)  # the server crashed: both rows still open, cut at the end
    seen = await log.of(meeting)
    assert (seen.student_joined, seen.mentor_joined, seen.verified) == (True, True, True)


async def test_the_mentor_completes_only_a_verified_meeting_and_once(meet: Any) -> None:
    mentor, student, slot = await confirmed(meet)
    conduct = meet.mentorship.meetings.conduct
    meet.clock.set(TEN)
    log = meet.mentorship.room.participation
    mentor_row = await log.opened(slot.id, mentor.user_id, ParticipantRole.MENTOR)
    await stay(meet, slot, student, ParticipantRole.STUDENT, 9)
    with pytest.raises(Conflict) as short:
        await conduct.complete(mentor, slot.id, None)
    assert short.value.code == "attendance_not_verified"
    await stay(meet, slot, student, ParticipantRole.STUDENT, 1)  # reconnected: 10 in all
    await log.closed(mentor_row)
    meet.clock.set(TEN + 25 * MINUTE)
    done = await conduct.complete(mentor, slot.id, None)
    assert (done.status, done.duration_minutes, done.earnings_credited) == (
        SlotStatus.COMPLETED,
        25,
        True,
    )
    with pytest.raises(InvalidState):
        await conduct.complete(mentor, slot.id, None)
    assert await credits(meet, slot) == 1


async def test_auto_complete_credits_once_and_leaves_the_rest_to_the_cleanup(meet: Any) -> None:
    mentor, student, together = await confirmed(meet)
    meet.clock.set(TEN)
    log = meet.mentorship.room.participation
    rows = [
        await log.opened(together.id, mentor.user_id, ParticipantRole.MENTOR),
        await log.opened(together.id, student.user_id, ParticipantRole.STUDENT),
    ]
    meet.clock.set(TEN + 20 * MINUTE)
    for row in rows:
        await log.closed(row)
    auto = meet.mentorship.meetings.conduct
    meet.clock.set(TEN + HALF + 29 * MINUTE)
    assert await auto.auto_complete() == 0  # not yet 30 minutes past the end
    meet.clock.set(TEN + HALF + 30 * MINUTE)
    assert await auto.auto_complete() == 1
    assert await auto.auto_complete() == 0
    assert await meet.mentorship.meetings.cleanup.run() == 0
    async with meet.uow() as uow:
        done = await uow.slots.get(together.id)
    assert (done.status, done.duration_minutes, done.actual_end_time) == (
        SlotStatus.COMPLETED,
        30,
        TEN + HALF,
    )
    assert done.earnings_credited
    assert await credits(meet, together) == 1


async def test_no_shows_expire_by_who_was_there(meet: Any) -> None:
    _, student, slot = await confirmed(meet)
    meet.clock.set(TEN)
    await stay(meet, slot, student, ParticipantRole.STUDENT, 30)  # the mentor never came
    meet.clock.set(TEN + 2 * HALF)
    assert await meet.mentorship.meetings.conduct.auto_complete() == 0
    assert await meet.mentorship.meetings.cleanup.run() == 1
    async with meet.uow() as uow:
        expired = await uow.slots.get(slot.id)
    assert (expired.status, expired.expiry_reason) == (SlotStatus.EXPIRED, "MENTOR_NO_SHOW")
    assert await balance(meet, student) == 1  # refunded
    assert await credits(meet, slot) == 0


@pytest.fixture
async def racing(database: Database, tmp_path: Path) -> AsyncIterator[Any]:
    if not database.url.startswith("postgresql"):
        pytest.skip("row locks between transactions: PostgreSQL (SQLite has one writer)")
    c = await open_container(
        make_settings(database.url, tmp_path, db_pool_max=20), clock=FakeClock(NOW)
    )
    yield c
    await c.close()


@pytest.mark.committing
async def test_racing_completions_credit_once(racing: Any) -> None:
    mentor, student, slot = await confirmed(racing)
    racing.clock.set(TEN)
    log = racing.mentorship.room.participation
    rows = [
        await log.opened(slot.id, mentor.user_id, ParticipantRole.MENTOR),
        await log.opened(slot.id, student.user_id, ParticipantRole.STUDENT),
    ]
    racing.clock.set(TEN + HALF)
    for row in rows:
        await log.closed(row)
    racing.clock.set(TEN + 2 * HALF)
    conduct = racing.mentorship.meetings.conduct

    async def by_mentor() -> int:
        try:
            await conduct.complete(mentor, slot.id, None)
        except (Conflict, InvalidState):
            return 0
        return 1

    done = await asyncio.gather(conduct.auto_complete(), conduct.auto_complete(), by_mentor())
    assert sum(done) == 1
    assert await credits(racing, slot) == 1
