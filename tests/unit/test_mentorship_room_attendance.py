"""The attendance rule (mentorship.md §4): both in the room together, inside the slot, for at
least the minimum; open rows, reconnects, tabs and time outside the slot."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from mas.core.mentorship.meetings.cleanup import no_show
from mas.core.mentorship.meetings.model import ExpiryReason
from mas.core.mentorship.room.model import ParticipantRole, Participation, attendance

START = datetime(2026, 12, 11, 10, 0, tzinfo=UTC)
END = START + timedelta(minutes=30)
WINDOW = (START, END)
TEN = timedelta(minutes=10)
SLOT = uuid.uuid4()
STUDENT, MENTOR = uuid.uuid4(), uuid.uuid4()


def at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


def row(role: ParticipantRole, joined: float, left: float | None) -> Participation:
    user = STUDENT if role is ParticipantRole.STUDENT else MENTOR
    return Participation(
        id=uuid.uuid4(),
        slot_id=SLOT,
        user_id=user,
        role=role,
        joined_at=at(joined),
        left_at=None if left is None else at(left),
    )


def student(joined: float, left: float | None) -> Participation:
    return row(ParticipantRole.STUDENT, joined, left)


def mentor(joined: float, left: float | None) -> Participation:
    return row(ParticipantRole.MENTOR, joined, left)


def verdict(*rows: Participation, now: datetime = END + TEN) -> tuple[bool, bool, bool]:
    seen = attendance(rows, WINDOW, now, TEN)
    return seen.student_joined, seen.mentor_joined, seen.verified


def test_exactly_the_minimum_together_is_verified_a_second_less_is_not() -> None:
    assert verdict(student(0, 10), mentor(0, 30)) == (True, True, True)
    short = student(0, 10 - 1 / 60)
    assert verdict(short, mentor(0, 30)) == (True, True, False)


def test_only_time_together_counts() -> None:
    # 15 minutes each, 5 of them together.
    assert verdict(student(0, 15), mentor(10, 25)) == (True, True, False)
    # Both in the room, never at once: both joined, nobody stood up, nothing verified.
    assert verdict(student(0, 9), mentor(12, 30)) == (True, True, False)


def test_time_outside_the_slot_does_not_count() -> None:
    # Together 20 minutes, but 12 of them before the start and after the end.
    assert verdict(student(-7, 35), mentor(-7, 35)) == (True, True, True)
    assert verdict(student(-20, 5), mentor(-20, 5)) == (True, True, False)
    assert verdict(student(25, 50), mentor(25, 50)) == (True, True, False)
    # Only before the start: not in this meeting at all.
    assert verdict(student(-15, -1), mentor(0, 30)) == (False, True, False)


def test_reconnects_add_up_and_two_tabs_do_not_count_twice() -> None:
    assert verdict(student(0, 5), student(5, 7), student(8, 12), mentor(0, 30)) == (
        True,
        True,
        True,
    )
    tabs = (student(0, 8), student(2, 8), student(3, 6))
    assert verdict(*tabs, mentor(0, 30)) == (True, True, False)


def test_an_open_row_ends_at_now_or_at_the_slot_end() -> None:
    # A crashed server left both rows open: they count up to now while the slot runs...
    assert verdict(student(0, None), mentor(0, None), now=at(9)) == (True, True, False)
    assert verdict(student(0, None), mentor(0, None), now=at(10)) == (True, True, True)
    # ...and never past its end, however late it is read.
    late = verdict(student(25, None), mentor(25, None), now=END + timedelta(days=1))
    assert late == (True, True, False)


def test_no_shows_by_attendance() -> None:
    def reason(*rows: Participation) -> ExpiryReason | None:
        return no_show(attendance(rows, WINDOW, END + TEN, TEN))

    assert reason(mentor(0, 30)) is ExpiryReason.STUDENT_NO_SHOW
    assert reason(student(0, 30)) is ExpiryReason.MENTOR_NO_SHOW
    assert reason() is ExpiryReason.NOBODY_JOINED
    # Both came but not together long enough: the cleanup's unchanged fallback.
    assert reason(student(0, 5), mentor(20, 30)) is ExpiryReason.NOBODY_JOINED
    assert reason(student(0, 30), mentor(0, 30)) is None
