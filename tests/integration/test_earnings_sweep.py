"""``earnings.sweep_uncredited`` on SQLite and PostgreSQL: completed mentor calls whose earning
was not credited are credited once through the tokens domain's ``credit_meeting`` and flagged;
a second run, or two runs at once on PostgreSQL, credit nothing more (tokens-earnings.md §6)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from mas.adapters.db.tokens.earnings_tables import MentorTransactionRow
from mas.core.identity.policy import Caller, Role
from mas.core.mentorship.meetings.model import MeetingType, Slot, SlotStatus
from mas.core.mentorship.meetings.sweep import SWEEP_UNCREDITED, EarningsSweep, SweepReport
from mas.core.platform.ids import uuid7
from mas.modules import crons
from tests.conftest import Database, make_settings, open_container
from tests.integration.test_tokens_wallet import credit, person

VALUE = 35000
DAY = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


async def meeting(
    c: Any,
    mentor: Caller,
    student: Caller,
    *,
    at: datetime = DAY,
    hold: bool = True,
    kind: MeetingType = MeetingType.MENTOR_CALL,
    status: SlotStatus = SlotStatus.COMPLETED,
) -> uuid.UUID:
    """A past meeting as the sweep finds it: completed, its earning not flagged."""
    slot = Slot(
        id=uuid7(),
        mentor_id=mentor.user_id,
        student_id=student.user_id,
        start_date_time=at,
        end_date_time=at + timedelta(minutes=30),
        status=status,
        created_at=at - timedelta(days=1),
        updated_at=at,
        is_available=False,
        meeting_type=kind,
        actual_end_time=at + timedelta(minutes=30),
        duration_minutes=30,
    )
    async with c.uow() as uow:
        await uow.slots.add_many([slot])
        if hold:
            await c.tokens.wallet.purse.hold_for_meeting(uow, student.user_id, slot.id)
        await uow.commit()
    return slot.id


async def flags(c: Any, slot_id: uuid.UUID) -> tuple[bool, datetime | None]:
    async with c.uow() as uow:
        slot = await uow.slots.get(slot_id)
    return slot.earnings_credited, slot.earnings_credited_at


async def earnings(c: Any, mentor: Caller) -> tuple[int, int]:
    summary = await c.tokens.earnings.summary(mentor.user_id)
    return summary.total_earnings_paise, summary.available_balance_paise


async def journal(c: Any, slot_id: uuid.UUID) -> int:
    async with c.sessions() as session:
        found = await session.scalar(
            select(func.count())
            .select_from(MentorTransactionRow)
            .where(MentorTransactionRow.slot_id == slot_id)
        )
    return int(found or 0)


async def test_the_sweep_credits_each_missed_meeting_once(container: Any) -> None:
    mentor, student = await person(container, Role.EXPERT), await person(container)
    await credit(container, student, 5)
    missed = [
        await meeting(container, mentor, student, at=DAY + timedelta(hours=h)) for h in (0, 1)
    ]
    coaching = await meeting(container, mentor, student, kind=MeetingType.SUPER_MENTOR, hold=False)
    free = await meeting(container, mentor, student, at=DAY + timedelta(hours=3), hold=False)
    live = await meeting(
        container, mentor, student, at=DAY + timedelta(hours=4), status=SlotStatus.CONFIRMED
    )
    sweep = container.mentorship.meetings.sweep

    assert await sweep.run() == SweepReport(credited=2, nothing_held=1)
    assert await earnings(container, mentor) == (2 * VALUE, 2 * VALUE)
    for slot_id in missed:
        credited, at = await flags(container, slot_id)
        assert credited and at is not None
        assert await journal(container, slot_id) == 1
    for untouched in (coaching, free, live):
        assert await flags(container, untouched) == (False, None)
        assert await journal(container, untouched) == 0

    assert await sweep.run() == SweepReport(nothing_held=1)
    assert await earnings(container, mentor) == (2 * VALUE, 2 * VALUE)


async def test_a_meeting_credited_by_hand_is_only_flagged(container: Any) -> None:
    mentor, student = await person(container, Role.EXPERT), await person(container)
    await credit(container, student, 1)
    slot_id = await meeting(container, mentor, student)
    async with container.uow() as uow:
        await container.tokens.earnings.credit_meeting(uow, slot_id, mentor.user_id)
        await uow.commit()
    assert await container.mentorship.meetings.sweep.run() == SweepReport(flagged=1)
    assert (await flags(container, slot_id))[0] is True
    assert await journal(container, slot_id) == 1
    assert await earnings(container, mentor) == (VALUE, VALUE)


async def test_the_sweep_walks_past_a_batch_of_unflaggable_meetings(container: Any) -> None:
    """Keyset paging: meetings that stay unflagged (nothing held) never starve the rest."""
    mentor, student = await person(container, Role.EXPERT), await person(container)
    await credit(container, student, 1)
    for hour in range(3):
        await meeting(container, mentor, student, at=DAY + timedelta(hours=hour), hold=False)
    last = await meeting(container, mentor, student, at=DAY + timedelta(hours=5))
    meetings = container.mentorship.meetings
    small = EarningsSweep(container.uow, container.clock, container.tokens.earnings, batch=2)
    assert meetings.sweep is not small
    assert await small.run() == SweepReport(credited=1, nothing_held=3)
    assert (await flags(container, last))[0] is True


def test_the_sweep_is_an_hourly_cron() -> None:
    assert crons()[SWEEP_UNCREDITED.name] == "25 * * * *"


@pytest.fixture
async def wide(database: Database, tmp_path: Path) -> AsyncIterator[Any]:
    if not database.url.startswith("postgresql"):
        pytest.skip("concurrent transactions: PostgreSQL (SQLite has one writer)")
    c = await open_container(make_settings(database.url, tmp_path, db_pool_max=20))
    yield c
    await c.close()


@pytest.mark.committing
async def test_two_sweeps_at_once_credit_each_meeting_once(wide: Any) -> None:
    mentors = [await person(wide, Role.EXPERT) for _ in range(3)]
    student = await person(wide)
    await credit(wide, student, 12)
    slots = [
        await meeting(wide, mentors[i % 3], student, at=DAY + timedelta(hours=i)) for i in range(12)
    ]
    start = asyncio.Event()

    async def sweep() -> SweepReport:
        await start.wait()
        report: SweepReport = await EarningsSweep(wide.uow, wide.clock, wide.tokens.earnings).run()
        return report

    racers = [asyncio.create_task(sweep()) for _ in range(4)]
    start.set()
    reports = await asyncio.gather(*racers)
    assert sum(r.credited for r in reports) == 12
    assert sum(r.flagged + r.nothing_held for r in reports) == 0
    for slot_id in slots:
        assert await journal(wide, slot_id) == 1
        assert (await flags(wide, slot_id))[0] is True
    assert [await earnings(wide, m) for m in mentors] == [(4 * VALUE, 4 * VALUE)] * 3
    assert await EarningsSweep(wide.uow, wide.clock, wide.tokens.earnings).run() == SweepReport()
