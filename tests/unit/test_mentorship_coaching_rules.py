"""The coaching state table, the status facade's mapping and dispatch (on fakes), the stats
range rule, the booking key's request hash and the coaching mail."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from mas.core.identity.policy import Caller, Platform, Role
from mas.core.mentorship.meetings.booking_keys import request_hash
from mas.core.mentorship.meetings.coaching import coaching_scheduled
from mas.core.mentorship.meetings.facade import Move, StatusFacade, move_for
from mas.core.mentorship.meetings.model import (
    BookingRequest,
    MeetingType,
    Slot,
    SlotStatus,
    StatusChange,
    check_move,
    settles_tokens,
)
from mas.core.mentorship.meetings.stats import day_range
from mas.core.platform.errors import Forbidden, InvalidState, NotFound, ValidationFailed

S = SlotStatus
NOW = datetime(2026, 12, 10, 8, 0, tzinfo=UTC)
COACHING = MeetingType.SUPER_MENTOR


@pytest.mark.parametrize("target", [S.CANCELLED, S.COMPLETED, S.EXPIRED])
def test_a_coaching_meeting_only_ends(target: SlotStatus) -> None:
    check_move(S.CONFIRMED, target, COACHING)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.CONFIRMED, S.CANCELLATION_REQUESTED),
        (S.CANCELLATION_REQUESTED, S.CANCELLED),
        (S.OPEN, S.TENTATIVE),
        (S.TENTATIVE, S.CONFIRMED),
    ],
)
def test_a_coaching_meeting_refuses_the_booking_moves(
    current: SlotStatus, target: SlotStatus
) -> None:
    check_move(current, target)  # legal for a mentor call
    with pytest.raises(InvalidState):
        check_move(current, target, COACHING)


def test_only_a_mentor_call_settles_tokens() -> None:
    assert settles_tokens(MeetingType.MENTOR_CALL)
    assert not settles_tokens(COACHING)


@pytest.mark.parametrize(
    ("current", "target", "move"),
    [
        (S.TENTATIVE, S.CONFIRMED, Move.APPROVE),
        (S.CANCELLATION_REQUESTED, S.CONFIRMED, Move.DECLINE_CANCELLATION),
        (S.TENTATIVE, S.REJECTED, Move.REJECT),
        (S.CONFIRMED, S.CANCELLATION_REQUESTED, Move.REQUEST_CANCELLATION),
        (S.CANCELLATION_REQUESTED, S.CANCELLED, Move.APPROVE_CANCELLATION),
        (S.CONFIRMED, S.CANCELLED, Move.CANCEL),
        (S.TENTATIVE, S.CANCELLED, Move.CANCEL),
        (S.CONFIRMED, S.COMPLETED, Move.COMPLETE),
        (S.CONFIRMED, S.OPEN, None),
        (S.CONFIRMED, S.EXPIRED, None),
    ],
)
def test_move_for(current: SlotStatus, target: SlotStatus, move: Move | None) -> None:
    assert move_for(current, target) is move


def caller(role: Role, user_id: uuid.UUID | None = None) -> Caller:
    return Caller(user_id=user_id or uuid.uuid4(), role=role, platform=Platform.MY_ANALYTICS_SCHOOL)


class FakeSlots:
    def __init__(self, slot: Slot | None) -> None:
        self.slot = slot

    async def get(self, slot_id: uuid.UUID) -> Slot | None:
        return self.slot if self.slot and self.slot.id == slot_id else None


class FakeUow:
    def __init__(self, slot: Slot | None) -> None:
        self.slots = FakeSlots(slot)

    async def __aenter__(self) -> FakeUow:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        return None


class Recorder:
    """Stands for ``Bookings`` and ``Conduct``: notes which move ran, with what."""

    def __init__(self, slot: Slot) -> None:
        self.slot = slot
        self.calls: list[tuple[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        async def move(who: Caller, slot_id: uuid.UUID, *rest: Any) -> Any:
            self.calls.append((name, rest))
            return self.slot

        return move


def slot(status: SlotStatus, mentor: uuid.UUID, student: uuid.UUID) -> Slot:
    return Slot(
        id=uuid.uuid4(),
        mentor_id=mentor,
        student_id=student,
        start_date_time=NOW,
        end_date_time=NOW + timedelta(minutes=30),
        status=status,
        created_at=NOW,
        updated_at=NOW,
    )


def facade(row: Slot | None, recorder: Recorder) -> StatusFacade:
    return StatusFacade(lambda: FakeUow(row), recorder, recorder)  # type: ignore[arg-type,return-value]


async def test_the_facade_dispatches_one_move_with_the_reason() -> None:
    mentor, student = caller(Role.EXPERT), caller(Role.USER)
    row = slot(S.CANCELLATION_REQUESTED, mentor.user_id, student.user_id)
    recorder = Recorder(row)
    change = StatusChange(status=S.CANCELLED, reason="ill")
    await facade(row, recorder).set_status(mentor, mentor.user_id, row.id, change)
    assert recorder.calls == [("approve_cancellation", ())]
    confirmed = slot(S.CONFIRMED, mentor.user_id, student.user_id)
    recorder = Recorder(confirmed)
    await facade(confirmed, recorder).set_status(mentor, mentor.user_id, confirmed.id, change)
    assert recorder.calls == [("cancel", ("ill",))]
    asked = StatusChange(status=S.CANCELLATION_REQUESTED, reason="exam")
    await facade(confirmed, recorder).set_status(student, student.user_id, confirmed.id, asked)
    assert recorder.calls[-1] == ("request_cancellation", ("exam",))


async def test_the_facade_refuses_before_any_move() -> None:
    mentor, student = caller(Role.EXPERT), caller(Role.USER)
    row = slot(S.TENTATIVE, mentor.user_id, student.user_id)
    recorder = Recorder(row)
    service = facade(row, recorder)
    with pytest.raises(InvalidState):
        await service.set_status(student, student.user_id, row.id, StatusChange(S.CANCELLED))
    with pytest.raises(Forbidden):
        await service.set_status(student, mentor.user_id, row.id, StatusChange(S.CANCELLED))
    with pytest.raises(Forbidden):
        outsider = caller(Role.EXPERT)
        await service.set_status(outsider, outsider.user_id, row.id, StatusChange(S.CONFIRMED))
    with pytest.raises(ValidationFailed):
        await service.set_status(mentor, mentor.user_id, row.id, StatusChange(S.OPEN))
    with pytest.raises(NotFound):
        await service.set_status(mentor, mentor.user_id, uuid.uuid4(), StatusChange(S.CONFIRMED))
    assert recorder.calls == []
    admin = caller(Role.ADMIN)
    await service.set_status(admin, student.user_id, row.id, StatusChange(S.REJECTED))
    assert recorder.calls == [("reject", (None,))]


def test_day_range_reads_whole_days_in_the_zone() -> None:
    since, until = day_range(date(2026, 12, 11), date(2026, 12, 11), "Asia/Kolkata")
    assert since == datetime(2026, 12, 10, 18, 30, tzinfo=UTC)
    assert until == datetime(2026, 12, 11, 18, 30, tzinfo=UTC)
    year = day_range(date(2026, 1, 1), date(2027, 1, 2), "UTC")
    assert year[1] - year[0] == timedelta(days=367)


@pytest.mark.parametrize(
    ("start", "end", "code"),
    [
        (date(2026, 1, 2), date(2026, 1, 1), "range_reversed"),
        (date(2026, 1, 1), date(2027, 1, 3), "range_too_long"),
        (date(1, 1, 1), date(1, 1, 2), "range_out_of_bounds"),
        (date(9999, 12, 30), date(9999, 12, 31), "range_out_of_bounds"),
    ],
)
def test_day_range_refuses(start: date, end: date, code: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        day_range(start, end, "Asia/Kolkata")
    assert refused.value.code == code


def test_the_request_hash_names_instants_not_their_spelling() -> None:
    mentor = uuid.uuid4()
    ist = timezone(timedelta(hours=5, minutes=30))
    utc = BookingRequest(mentor, NOW, NOW + timedelta(minutes=30))
    local = BookingRequest(
        mentor, NOW.astimezone(ist), (NOW + timedelta(minutes=30)).astimezone(ist)
    )
    assert request_hash(utc) == request_hash(local)
    assert request_hash(utc) != request_hash(BookingRequest(mentor, NOW, utc.end_date_time, "x"))
    later = NOW + timedelta(minutes=30)
    assert request_hash(utc) != request_hash(
        BookingRequest(mentor, later, later + timedelta(minutes=30))
    )


def test_the_coaching_mail_names_the_agenda_and_escapes() -> None:
    mail = coaching_scheduled(
        {"mentor_name": "<b>Asha</b>", "agenda": "MOCK_INTERVIEW_PREP", "start": "2026-12-11"}
    )
    assert "mock-interview preparation" in mail.text
    assert "<b>" not in mail.html and "&lt;b&gt;Asha" in mail.html
