"""Who was in a meeting's room, and the attendance rule read from it (mentorship.md §3, §4).

A participation row opens when the student or the mentor joins the room and closes when they
leave or their socket drops; observers (the recording bot) and admins are never logged. A row a
crashed server left open counts as ending at ``min(now, slot end)``: it cannot stretch the
meeting, and it stops growing once the slot is over.

Attendance is verified when the student's and the mentor's time in the room, each clipped to
the slot window and merged across reconnects and tabs, overlaps for at least the minimum.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

import msgspec

from mas.core.mentorship.meetings.ports import Attendance

Interval = tuple[datetime, datetime]


class ParticipantRole(enum.StrEnum):
    STUDENT = "STUDENT"
    MENTOR = "MENTOR"


class Participation(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    slot_id: uuid.UUID
    user_id: uuid.UUID
    role: ParticipantRole
    joined_at: datetime
    left_at: datetime | None = None


def time_in_room(
    rows: Iterable[Participation], role: ParticipantRole, window: Interval, now: datetime
) -> list[Interval]:
    """The side's intervals inside ``window``, merged and ordered (an open row ends at
    ``min(now, window end)``)."""
    start, end = window
    clipped = []
    for row in rows:
        if row.role is not role:
            continue
        left = row.left_at if row.left_at is not None else min(now, end)
        lo, hi = max(row.joined_at, start), min(left, end)
        if hi > lo:
            clipped.append((lo, hi))
    merged: list[Interval] = []
    for lo, hi in sorted(clipped):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def together(first: list[Interval], second: list[Interval]) -> timedelta:
    """The total overlap of two merged, ordered interval lists."""
    total = timedelta()
    i = j = 0
    while i < len(first) and j < len(second):
        lo = max(first[i][0], second[j][0])
        hi = min(first[i][1], second[j][1])
        if hi > lo:
            total += hi - lo
        if first[i][1] <= second[j][1]:
            i += 1
        else:
            j += 1
    return total


def attendance(
    rows: Iterable[Participation], window: Interval, now: datetime, minimum: timedelta
) -> Attendance:
    rows = list(rows)
    student = time_in_room(rows, ParticipantRole.STUDENT, window, now)
    mentor = time_in_room(rows, ParticipantRole.MENTOR, window, now)
    return Attendance(
        student_joined=bool(student),
        mentor_joined=bool(mentor),
        verified=bool(student and mentor) and together(student, mentor) >= minimum,
    )
