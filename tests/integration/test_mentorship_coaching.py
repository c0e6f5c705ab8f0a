"""Super-mentor coaching, the status facade, the slot statistics and the booking's
``Idempotency-Key`` on SQLite and PostgreSQL (mentorship.md §4, §5, §9 check 16), driven by a
frozen clock through the real container (purse, earnings, outbox)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from mas.adapters.db.mentorship.coaching_tables import SlotBookingKeyRow
from mas.adapters.db.platform.tables import OutboxMessageRow
from mas.adapters.db.tokens.earnings_tables import MentorTransactionRow
from mas.adapters.fakes.platform import FakeClock
from mas.core.identity.model import User
from mas.core.identity.policy import Caller, Platform, Role
from mas.core.mentorship.meetings.model import (
    Agenda,
    Completion,
    ExpiryReason,
    MeetingType,
    NewAssignment,
    NewCoachingMeeting,
    SlotStatus,
    SlotView,
    StatusChange,
)
from mas.core.platform.errors import (
    Conflict,
    Forbidden,
    InvalidState,
    NotFound,
    ValidationFailed,
)
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import PageRequest
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
    slot_rows,
)

ADMIN = Caller(user_id=uuid7(), role=Role.ADMIN, platform=Platform.MY_ANALYTICS_SCHOOL)


@pytest.fixture
async def meet(database: Database, tmp_path: Path) -> AsyncIterator[Any]:
    c = await open_container(
        make_settings(database.url, tmp_path, public_base_url="https://mas.example"),
        database=database.joined,
        clock=FakeClock(NOW),
    )
    admin = User(
        id=ADMIN.user_id,
        email=f"admin-{uuid.uuid4().hex}@example.com",
        role=Role.ADMIN,
        created_at=NOW,
    )
    async with c.uow() as uow:
        await uow.users.add(admin)
        await uow.commit()
    yield c
    await c.close()


async def super_mentor(c: Any) -> Caller:
    user = User(
        id=uuid7(),
        email=f"coach-{uuid.uuid4().hex[:8]}@example.com",
        role=Role.EXPERT,
        created_at=c.clock.now(),
        is_super_mentor=True,
    )
    async with c.uow() as uow:
        await uow.users.add(user)
        await uow.commit()
    return Caller(
        user_id=user.id,
        role=Role.EXPERT,
        platform=Platform.MY_ANALYTICS_SCHOOL,
        is_super_mentor=True,
    )


def coaching(
    student: Caller, start: Any = TEN, mentor: Caller | None = None, **extra: Any
) -> NewCoachingMeeting:
    return NewCoachingMeeting(
        student_id=student.user_id,
        start_date_time=start,
        end_date_time=start + HALF,
        agenda=Agenda.PROGRESS_REVIEW,
        mentor_id=mentor.user_id if mentor else None,
        **extra,
    )


async def coached(c: Any) -> tuple[Caller, Caller, SlotView]:
    """A super mentor, an assigned student holding 1 token, and a coaching meeting at TEN."""
    coach, student = await super_mentor(c), await person(c, Role.USER)
    await c.mentorship.meetings.coaching.assign(
        ADMIN, coach.user_id, NewAssignment(student.user_id)
    )
    await give(c, student, 1)
    slot = await c.mentorship.meetings.coaching.schedule(coach, coaching(student))
    return coach, student, slot


async def count(c: Any, table: Any, *where: Any) -> int:
    async with c.sessions() as session:
        found = await session.scalar(select(func.count()).select_from(table).where(*where))
        return int(found or 0)


async def test_an_assigned_student_is_coached_confirmed_without_tokens(meet: Any) -> None:
    coach, student, slot = await coached(meet)
    assert (slot.status, slot.meeting_type) == (SlotStatus.CONFIRMED, MeetingType.SUPER_MENTOR)
    assert slot.agenda == "PROGRESS_REVIEW" and slot.student_id == student.user_id
    assert await slot_rows(meet, slot.id) == []
    assert await balance(meet, student) == 1
    mails = await count(
        meet,
        OutboxMessageRow,
        OutboxMessageRow.related_id == slot.id,
        OutboxMessageRow.body_text.contains("progress review"),
    )
    assert mails == 1
    stranger = await person(meet, Role.USER)
    with pytest.raises(Forbidden) as unassigned:
        await meet.mentorship.meetings.coaching.schedule(coach, coaching(stranger, TEN + 2 * HALF))
    assert unassigned.value.code == "student_not_assigned"
    plain = await person(meet, Role.EXPERT)
    with pytest.raises(Forbidden) as not_coach:
        await meet.mentorship.meetings.coaching.schedule(plain, coaching(student, TEN + 2 * HALF))
    assert not_coach.value.code == "not_super_mentor"
    with pytest.raises(Forbidden):  # a super mentor schedules only for themselves
        await meet.mentorship.meetings.coaching.schedule(
            coach, coaching(student, TEN + 2 * HALF, mentor=await super_mentor(meet))
        )


async def test_an_admin_names_the_super_mentor(meet: Any) -> None:
    coach, student = await super_mentor(meet), await person(meet, Role.USER)
    service = meet.mentorship.meetings.coaching
    await service.assign(ADMIN, coach.user_id, NewAssignment(student.user_id))
    with pytest.raises(ValidationFailed) as unnamed:
        await service.schedule(ADMIN, coaching(student))
    assert unnamed.value.code == "mentor_required"
    made = await service.schedule(ADMIN, coaching(student, mentor=coach))
    assert made.mentor_id == coach.user_id and made.status is SlotStatus.CONFIRMED


async def test_grid_and_clashes(meet: Any) -> None:
    coach, student, _ = await coached(meet)
    service = meet.mentorship.meetings.coaching
    with pytest.raises(ValidationFailed) as misaligned:
        await service.schedule(coach, coaching(student, TEN + timedelta(minutes=15)))
    assert misaligned.value.code == "invalid_slot"
    with pytest.raises(Conflict) as mentor_busy:
        await service.schedule(coach, coaching(student))
    assert mentor_busy.value.code == "mentor_busy"
    await publish(meet, coach, TEN + 2 * HALF)  # an open slot is the mentor's time too
    with pytest.raises(Conflict) as open_slot:
        await service.schedule(coach, coaching(student, TEN + 2 * HALF))
    assert open_slot.value.code == "mentor_busy"
    other = await person(meet, Role.EXPERT)
    await publish(meet, other, TEN + 4 * HALF)
    await meet.mentorship.meetings.bookings.book(student, ask(other, TEN + 4 * HALF))
    with pytest.raises(Conflict) as student_busy:
        await service.schedule(coach, coaching(student, TEN + 4 * HALF))
    assert student_busy.value.code == "student_busy"


async def test_coaching_cancelled_refunds_nothing(meet: Any) -> None:
    coach, student, slot = await coached(meet)
    bookings = meet.mentorship.meetings.bookings
    with pytest.raises(InvalidState):  # no cancellation request on a coaching meeting
        await bookings.request_cancellation(student, slot.id, "busy")
    with pytest.raises(InvalidState):  # the student's cancel is for a tentative request
        await bookings.cancel(student, slot.id, None)
    done = await bookings.cancel(coach, slot.id, "rescheduling")
    assert done.status is SlotStatus.CANCELLED
    assert await slot_rows(meet, slot.id) == []
    assert await balance(meet, student) == 1


async def test_coaching_completed_earns_nothing(meet: Any) -> None:
    coach, _, slot = await coached(meet)
    meet.clock.set(TEN + HALF)
    done = await meet.mentorship.meetings.conduct.complete(
        ADMIN, slot.id, Completion(override=True, reason="held on the phone")
    )
    assert (done.status, done.earnings_credited) == (SlotStatus.COMPLETED, False)
    assert await count(meet, MentorTransactionRow, MentorTransactionRow.slot_id == slot.id) == 0
    assert await slot_rows(meet, slot.id) == []
    async with meet.uow() as uow:  # coaching is not a meet on the public leaderboard
        stats = await meet.mentorship.mentors.stats.read(uow, coach.user_id)
    assert stats.completed_meets == 0


async def test_coaching_expired_by_cleanup_refunds_nothing(meet: Any) -> None:
    _, student, slot = await coached(meet)
    meet.clock.set(TEN + 4 * HALF)
    await meet.mentorship.meetings.cleanup.run()
    async with meet.uow() as uow:
        gone = await uow.slots.get(slot.id)
    assert gone.status is SlotStatus.EXPIRED
    assert gone.expiry_reason is ExpiryReason.NOBODY_JOINED
    assert await slot_rows(meet, slot.id) == []
    assert await balance(meet, student) == 1


async def test_roster_checks_both_sides(meet: Any) -> None:
    coach, student = await super_mentor(meet), await person(meet, Role.USER)
    service = meet.mentorship.meetings.coaching
    made = await service.assign(ADMIN, coach.user_id, NewAssignment(student.user_id))
    assert (made.super_mentor_id, made.assigned_by) == (coach.user_id, ADMIN.user_id)
    with pytest.raises(Conflict):
        await service.assign(ADMIN, coach.user_id, NewAssignment(student.user_id))
    plain = await person(meet, Role.EXPERT)
    with pytest.raises(ValidationFailed) as not_coach:
        await service.assign(ADMIN, plain.user_id, NewAssignment(student.user_id))
    assert not_coach.value.code == "not_super_mentor"
    with pytest.raises(ValidationFailed) as not_student:
        await service.assign(ADMIN, coach.user_id, NewAssignment(plain.user_id))
    assert not_student.value.code == "not_a_student"
    with pytest.raises(NotFound):
        await service.assign(ADMIN, coach.user_id, NewAssignment(uuid7()))
    listed = await service.students(coach.user_id, PageRequest())
    assert [a.student_id for a in listed.items] == [student.user_id]
    await service.unassign(coach.user_id, student.user_id)
    with pytest.raises(NotFound):
        await service.unassign(coach.user_id, student.user_id)
    with pytest.raises(Forbidden):
        await service.schedule(coach, coaching(student))


async def test_lists_are_scoped(meet: Any) -> None:
    coach, student, slot = await coached(meet)
    other = await super_mentor(meet)
    await meet.mentorship.meetings.coaching.assign(
        ADMIN, other.user_id, NewAssignment(student.user_id)
    )
    theirs = await meet.mentorship.meetings.coaching.schedule(other, coaching(student, TEN + HALF))
    mentor = await person(meet, Role.EXPERT)
    await publish(meet, mentor, TEN + 4 * HALF)  # a mentor call is never in these lists
    service = meet.mentorship.meetings.coaching
    mine = await service.meetings(coach, None, None, PageRequest())
    assert [m.id for m in mine.items] == [slot.id]
    everyone = await service.meetings(ADMIN, None, None, PageRequest())
    assert {m.id for m in everyone.items} == {slot.id, theirs.id}
    one = await service.meetings(ADMIN, other.user_id, SlotStatus.CONFIRMED, PageRequest())
    assert [m.id for m in one.items] == [theirs.id]
    with pytest.raises(Forbidden):
        await service.meetings(coach, other.user_id, None, PageRequest())
    assert (await service.meetings(mentor, None, None, PageRequest())).total == 0


async def test_status_facade_runs_the_explicit_moves(meet: Any) -> None:
    mentor, student = await person(meet, Role.EXPERT), await person(meet, Role.USER)
    await publish(meet, mentor, TEN, TEN + HALF)
    await give(meet, student, 2)
    first = await meet.mentorship.meetings.bookings.book(student, ask(mentor))
    facade = meet.mentorship.meetings.status

    async def to(who: Caller, status: SlotStatus, slot: Any = first, path: Any = None) -> Any:
        return await facade.set_status(
            who, path or who.user_id, slot.id, StatusChange(status=status)
        )

    with pytest.raises(Forbidden) as foreign:
        await to(student, SlotStatus.CANCELLATION_REQUESTED, path=mentor.user_id)
    assert foreign.value.code == "not_your_meetings"
    with pytest.raises(ValidationFailed) as unsupported:
        await to(mentor, SlotStatus.EXPIRED)
    assert unsupported.value.code == "unsupported_status"
    with pytest.raises(InvalidState):  # a student only asks for a cancellation
        await to(student, SlotStatus.CONFIRMED)
    assert (await to(mentor, SlotStatus.CONFIRMED)).status is SlotStatus.CONFIRMED
    asked = await to(student, SlotStatus.CANCELLATION_REQUESTED)
    assert asked.status is SlotStatus.CANCELLATION_REQUESTED
    assert (await to(mentor, SlotStatus.CONFIRMED)).status is SlotStatus.CONFIRMED  # declined
    await to(student, SlotStatus.CANCELLATION_REQUESTED)
    assert (await to(mentor, SlotStatus.CANCELLED)).status is SlotStatus.CANCELLED
    assert await balance(meet, student) == 2  # the approved cancellation refunded
    second = await meet.mentorship.meetings.bookings.book(student, ask(mentor, TEN + HALF))
    assert (await to(mentor, SlotStatus.REJECTED, second)).status is SlotStatus.REJECTED
    assert await balance(meet, student) == 2
    with pytest.raises(InvalidState):
        await to(mentor, SlotStatus.CONFIRMED, second)
    stranger = await person(meet, Role.EXPERT)
    with pytest.raises(Forbidden) as outsider:
        await to(stranger, SlotStatus.CANCELLED, second)
    assert outsider.value.code == "not_participant"
    coach, _, coaching_slot = await coached(meet)
    with pytest.raises(Conflict) as unverified:
        await to(coach, SlotStatus.COMPLETED, coaching_slot)
    assert unverified.value.code == "attendance_not_verified"
    cancelled = await facade.set_status(
        ADMIN, student.user_id, coaching_slot.id, StatusChange(SlotStatus.CANCELLED, "ill")
    )
    assert (cancelled.status, cancelled.cancel_reason) == (SlotStatus.CANCELLED, "ill")


async def test_slot_stats_count_in_sql(meet: Any) -> None:
    busy, quiet = await person(meet, Role.EXPERT), await person(meet, Role.EXPERT)
    await publish(meet, busy, TEN, TEN + HALF, TEN + 2 * HALF)
    await publish(meet, quiet, TEN + timedelta(days=1))
    student = await person(meet, Role.USER)
    await give(meet, student, 1)
    await meet.mentorship.meetings.bookings.book(student, ask(busy))
    # 19:00 UTC on the 11th is 00:30 IST on the 12th: counted on the 12th.
    late = TEN + timedelta(hours=9)
    await publish(meet, quiet, late)
    stats = meet.mentorship.meetings.slot_stats
    found = await stats.between(date(2026, 12, 11), date(2026, 12, 12), top=1)
    counts = found.counts
    assert counts.total == 5
    by_status = {s.status: s.count for s in counts.by_status}
    assert (by_status[SlotStatus.OPEN], by_status[SlotStatus.TENTATIVE]) == (4, 1)
    assert [(m.mentor_id, m.count) for m in counts.by_mentor] == [(busy.user_id, 3)]
    assert [(d.day, d.count) for d in counts.by_day] == [
        (date(2026, 12, 11), 3),
        (date(2026, 12, 12), 2),
    ]
    one_day = await stats.between(date(2026, 12, 11), date(2026, 12, 11), top=10)
    assert one_day.counts.total == 3 and len(one_day.counts.by_mentor) == 1
    with pytest.raises(ValidationFailed) as reversed_range:
        await stats.between(date(2026, 12, 12), date(2026, 12, 11), top=10)
    assert reversed_range.value.code == "range_reversed"
    with pytest.raises(ValidationFailed) as too_long:
        await stats.between(date(2025, 1, 1), date(2026, 1, 3), top=10)
    assert too_long.value.code == "range_too_long"


async def test_a_retried_booking_holds_once(meet: Any) -> None:
    mentor, student = await person(meet, Role.EXPERT), await person(meet, Role.USER)
    [slot] = await publish(meet, mentor, TEN)
    bookings = meet.mentorship.meetings.bookings
    from mas.core.tokens.wallet.purse import InsufficientTokens

    with pytest.raises(InsufficientTokens):  # a failed first attempt leaves the key free
        await bookings.book_once(student, ask(mentor), "retry-1")
    await give(meet, student, 2)
    first = await bookings.book_once(student, ask(mentor), "retry-1")
    again = await bookings.book_once(student, ask(mentor), "retry-1")
    assert (first.replayed, again.replayed) == (False, True)
    assert again.slot.id == first.slot.id == slot.id
    assert await balance(meet, student) == 1
    assert await slot_rows(meet, slot.id) == ["meeting_booking"]
    with pytest.raises(ValidationFailed) as reused:
        await bookings.book_once(student, ask(mentor, TEN + HALF), "retry-1")
    assert reused.value.code == "idempotency_key_reused"
    other = await person(meet, Role.USER)  # keys are per student
    await give(meet, other, 1)
    with pytest.raises(Conflict):
        await bookings.book_once(other, ask(mentor), "retry-1")
    meet.clock.set(NOW + timedelta(hours=49))  # lapsed: a new attempt, refused on its merits
    with pytest.raises(ValidationFailed) as late:
        await bookings.book_once(student, ask(mentor), "retry-1")
    assert late.value.code == "too_late_to_book"
    assert await meet.mentorship.meetings.booking_keys.run() == 1
    assert await count(meet, SlotBookingKeyRow) == 0
