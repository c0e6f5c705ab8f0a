"""What the meetings part needs from storage, and its view of the unit of work."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

import msgspec

from mas.core.mentorship.meetings.model import (
    Assignment,
    AvailabilityRequest,
    BookingKey,
    Feedback,
    MeetingType,
    Slot,
    SlotChange,
    SlotCounts,
    SlotStatus,
)
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.uow import UnitOfWork


class Person(msgspec.Struct, frozen=True, kw_only=True):
    """A user as a meeting mail or card needs them."""

    id: uuid.UUID
    email: str
    name: str
    role: str
    is_super_mentor: bool = False


class SlotRepository(Protocol):
    async def add_many(self, slots: list[Slot]) -> None:
        """Insert; raises ``DuplicateKey`` when a live row of the mentor has the same start
        (a concurrent publish)."""
        ...

    async def get(self, slot_id: uuid.UUID) -> Slot | None: ...

    async def live_between(
        self, mentor_id: uuid.UUID, start: datetime, end: datetime
    ) -> list[Slot]:
        """The mentor's live rows (open, tentative, confirmed, cancellation_requested) that
        overlap [start, end)."""
        ...

    async def booked_overlapping(
        self, student_id: uuid.UUID, start: datetime, end: datetime, other_than: uuid.UUID
    ) -> bool:
        """Whether the student holds another live booking overlapping [start, end)."""
        ...

    async def move(
        self,
        slot_id: uuid.UUID,
        current: SlotStatus,
        version: int,
        target: SlotStatus,
        change: SlotChange,
        now: datetime,
    ) -> Slot | None:
        """Compare-and-set on (id, status, version): write ``target`` and ``change``, bump the
        version; None when the row was no longer in that state."""
        ...

    async def delete_open(self, mentor_id: uuid.UUID, slot_ids: list[uuid.UUID]) -> list[uuid.UUID]:
        """Delete the mentor's ``open`` slots among ``slot_ids``; the ids deleted."""
        ...

    async def of_mentor(
        self,
        mentor_id: uuid.UUID,
        statuses: list[SlotStatus] | None,
        starting_after: datetime | None,
        req: PageRequest,
    ) -> Page[Slot]:
        """Start ascending."""
        ...

    async def of_user(
        self,
        user_id: uuid.UUID,
        as_mentor: bool,
        status: SlotStatus | None,
        start_from: datetime | None,
        start_to: datetime | None,
        req: PageRequest,
    ) -> Page[Slot]:
        """Booked slots where the user is the student (or also the mentor), newest start first."""
        ...

    async def due(self, now: datetime, ended_before: datetime, limit: int) -> list[Slot]:
        """Rows the cleanup must move: ``open``, ``tentative`` or ``cancellation_requested``
        whose start has passed (``now``), and ``confirmed`` ones that ended before
        ``ended_before``."""
        ...

    async def person(self, user_id: uuid.UUID) -> Person | None: ...

    async def admins(self) -> list[Person]:
        """Every active ADMIN and SUPERADMIN (the cancellation notice goes to them)."""
        ...


class Attendance(msgspec.Struct, frozen=True, kw_only=True):
    student_joined: bool
    mentor_joined: bool
    verified: bool
    """Both present together for at least the minimum (the room's participation rows)."""


class MentorStats(Protocol):
    """The mentors part's counters (``MentorServices.stats``), moved in the caller's unit of
    work: open future slots, completed meetings, students' ratings."""

    async def adjust_open_slots(
        self, uow: UnitOfWork, mentor_id: uuid.UUID, delta: int
    ) -> None: ...

    async def record_completion(self, uow: UnitOfWork, mentor_id: uuid.UUID) -> None: ...

    async def record_rating(self, uow: UnitOfWork, mentor_id: uuid.UUID, rating: float) -> None: ...


class NoStats:
    """No counters to keep (the part built on its own, as in unit tests)."""

    async def adjust_open_slots(self, uow: UnitOfWork, mentor_id: uuid.UUID, delta: int) -> None:
        return None

    async def record_completion(self, uow: UnitOfWork, mentor_id: uuid.UUID) -> None:
        return None

    async def record_rating(self, uow: UnitOfWork, mentor_id: uuid.UUID, rating: float) -> None:
        return None


class AttendanceLog(Protocol):
    """Who joined a meeting's room, from the realtime domain's participation rows."""

    async def of(self, slot: Slot) -> Attendance: ...


class NoParticipation:
    """The log while the live room records no participation: nobody is seen joining, so no
    attendance is verified (an ADMIN override completes; cleanup expires NOBODY_JOINED)."""

    async def of(self, slot: Slot) -> Attendance:
        return Attendance(student_joined=False, mentor_joined=False, verified=False)


class FeedbackRepository(Protocol):
    async def add(self, feedback: Feedback) -> None:
        """Insert; raises ``DuplicateKey`` when that side of the slot gave feedback before."""
        ...

    async def of_slot(self, slot_id: uuid.UUID) -> list[Feedback]: ...


class AvailabilityRequestRepository(Protocol):
    async def add(self, request: AvailabilityRequest) -> None: ...

    async def pending_of(self, student_id: uuid.UUID) -> int:
        """How many PENDING requests the student has."""
        ...

    async def fulfil(self, mentor_id: uuid.UUID, now: datetime) -> int:
        """The mentor's PENDING requests → FULFILLED; how many."""
        ...

    async def expire(self, created_before: datetime, now: datetime) -> int:
        """PENDING requests created before ``created_before`` → EXPIRED; how many."""
        ...


class CoachingRoster(Protocol):
    """Which students a super mentor coaches: the spec's ``Batches.is_assigned`` (§7). Kept
    in ``super_mentor_students`` (assigned by an ADMIN) until the LMS owns batches; that
    adapter will answer ``is_assigned`` from them."""

    async def is_assigned(self, super_mentor_id: uuid.UUID, student_id: uuid.UUID) -> bool: ...

    async def assign(self, assignment: Assignment) -> None:
        """Insert; raises ``DuplicateKey`` when the pair is assigned already."""
        ...

    async def unassign(self, super_mentor_id: uuid.UUID, student_id: uuid.UUID) -> bool:
        """Remove the pair; whether it was there."""
        ...

    async def students_of(self, super_mentor_id: uuid.UUID, req: PageRequest) -> Page[Assignment]:
        """Newest assignment first."""
        ...


class BookingKeys(Protocol):
    async def claim(self, key: BookingKey, now: datetime) -> BookingKey | None:
        """Insert ``key`` (a lapsed one of the same student and key is dropped first) and
        answer None; when the student holds that key already, answer that row and write
        nothing. A concurrent claim of the same key waits for the first transaction (the
        unique index) and then sees its row, or takes the key if that transaction rolled back."""
        ...

    async def settle(self, student_id: uuid.UUID, key: str, slot_id: uuid.UUID) -> None:
        """Record the slot the key booked."""
        ...

    async def purge(self, now: datetime) -> int:
        """Delete lapsed keys; how many."""
        ...


class SlotQueries(Protocol):
    """Read models over ``slots`` (set-based SQL)."""

    async def of_type(
        self,
        meeting_type: MeetingType,
        mentor_id: uuid.UUID | None,
        status: SlotStatus | None,
        req: PageRequest,
    ) -> Page[Slot]:
        """Meetings of one type (of one mentor, or all), newest start first."""
        ...

    async def counts(self, since: datetime, until: datetime, zone: str, top: int) -> SlotCounts:
        """Slots starting in [since, until): by status, the ``top`` mentors, by day in
        ``zone``."""
        ...


class MeetingsUnitOfWork(UnitOfWork, Protocol):
    slots: SlotRepository
    slot_feedback: FeedbackRepository
    availability_requests: AvailabilityRequestRepository
    coaching_roster: CoachingRoster
    booking_keys: BookingKeys
    slot_queries: SlotQueries
