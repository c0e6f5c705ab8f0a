"""Slots and meetings (mentorship.md §3-§4): one ``slots`` row is the published availability,
the booking and the meeting. Its status moves only along ``TRANSITIONS``; ``check_move`` is
the one place an illegal move is refused (409 ``illegal_transition`` naming both states).
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime, timedelta
from typing import Annotated

import msgspec

from mas.core.platform.errors import InvalidState

SLOT_LENGTH = timedelta(minutes=30)
MAX_AHEAD = timedelta(days=60)
MIN_NOTICE = timedelta(hours=2)
EARLY_START = timedelta(minutes=10)
MAX_PUBLISH = 100

Note = Annotated[str, msgspec.Meta(max_length=1000)]
Reason = Annotated[str, msgspec.Meta(max_length=500)]


class SlotStatus(enum.StrEnum):
    OPEN = "open"
    TENTATIVE = "tentative"
    CONFIRMED = "confirmed"
    CANCELLATION_REQUESTED = "cancellation_requested"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    COMPLETED = "completed"
    EXPIRED = "expired"


LIVE = frozenset(
    {
        SlotStatus.OPEN,
        SlotStatus.TENTATIVE,
        SlotStatus.CONFIRMED,
        SlotStatus.CANCELLATION_REQUESTED,
    }
)
"""The statuses the partial unique index (mentor, start) covers."""
BOOKED = LIVE - {SlotStatus.OPEN}
"""A student's live bookings: two of them may not overlap."""


class MeetingType(enum.StrEnum):
    MENTOR_CALL = "MENTOR_CALL"
    SUPER_MENTOR = "SUPER_MENTOR"


class ExpiryReason(enum.StrEnum):
    NO_DECISION = "NO_DECISION"
    NOBODY_JOINED = "NOBODY_JOINED"
    STUDENT_NO_SHOW = "STUDENT_NO_SHOW"
    MENTOR_NO_SHOW = "MENTOR_NO_SHOW"


S = SlotStatus
TRANSITIONS: dict[SlotStatus, frozenset[SlotStatus]] = {
    S.OPEN: frozenset({S.TENTATIVE, S.EXPIRED}),
    S.TENTATIVE: frozenset({S.CONFIRMED, S.REJECTED, S.CANCELLED, S.EXPIRED}),
    S.CONFIRMED: frozenset({S.CANCELLATION_REQUESTED, S.CANCELLED, S.COMPLETED, S.EXPIRED}),
    S.CANCELLATION_REQUESTED: frozenset({S.CANCELLED, S.CONFIRMED}),
    S.CANCELLED: frozenset(),
    S.REJECTED: frozenset(),
    S.COMPLETED: frozenset(),
    S.EXPIRED: frozenset(),
}
REFUNDED_ON: dict[tuple[SlotStatus, SlotStatus], bool] = {
    (S.TENTATIVE, S.REJECTED): True,
    (S.TENTATIVE, S.CANCELLED): True,
    (S.TENTATIVE, S.EXPIRED): True,
    (S.CANCELLATION_REQUESTED, S.CANCELLED): True,
    (S.CONFIRMED, S.CANCELLED): True,
}
"""The moves that give the student's token back (§4); ``confirmed -> expired`` depends on the
reason (``refunds``)."""


COACHING_TRANSITIONS: dict[SlotStatus, frozenset[SlotStatus]] = {
    **{status: frozenset() for status in SlotStatus},
    S.CONFIRMED: frozenset({S.CANCELLED, S.COMPLETED, S.EXPIRED}),
}
"""A super-mentor meeting is created ``confirmed`` and only ends (§4): no request, no
cancellation request, no token."""


def check_move(
    current: SlotStatus, target: SlotStatus, meeting_type: MeetingType | None = None
) -> None:
    table = COACHING_TRANSITIONS if meeting_type is MeetingType.SUPER_MENTOR else TRANSITIONS
    if target not in table[current]:
        raise InvalidState("slot", current.value, target.value)


def refunds(current: SlotStatus, target: SlotStatus, reason: ExpiryReason | None = None) -> bool:
    if (current, target) == (S.CONFIRMED, S.EXPIRED):
        return reason is not ExpiryReason.STUDENT_NO_SHOW
    return REFUNDED_ON.get((current, target), False)


def settles_tokens(meeting_type: MeetingType) -> bool:
    """Whether a meeting's moves hold, refund or credit tokens: a super-mentor meeting never
    does (§4), whatever the move."""
    return meeting_type is MeetingType.MENTOR_CALL


class Agenda(enum.StrEnum):
    ONBOARDING = "ONBOARDING"
    PROGRESS_REVIEW = "PROGRESS_REVIEW"
    MOCK_INTERVIEW_PREP = "MOCK_INTERVIEW_PREP"


class Slot(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    mentor_id: uuid.UUID
    start_date_time: datetime
    end_date_time: datetime
    status: SlotStatus
    created_at: datetime
    updated_at: datetime
    student_id: uuid.UUID | None = None
    is_available: bool = True
    meeting_type: MeetingType = MeetingType.MENTOR_CALL
    agenda: str | None = None
    booking_note: str | None = None
    requested_at: datetime | None = None
    decided_at: datetime | None = None
    cancelled_by: uuid.UUID | None = None
    cancel_reason: str | None = None
    expiry_reason: ExpiryReason | None = None
    actual_start_time: datetime | None = None
    actual_end_time: datetime | None = None
    duration_minutes: int | None = None
    earnings_credited: bool = False
    earnings_credited_at: datetime | None = None
    room_id: str = ""
    calendar_event_id: str | None = None
    email_action_nonce: str | None = msgspec.field(default=None)
    version: int = 1


class SlotView(msgspec.Struct, frozen=True, kw_only=True):
    """A slot as the API shows it (no link secret)."""

    id: uuid.UUID
    mentor_id: uuid.UUID
    student_id: uuid.UUID | None
    start_date_time: datetime
    end_date_time: datetime
    status: SlotStatus
    is_available: bool
    meeting_type: MeetingType
    booking_note: str | None
    requested_at: datetime | None
    decided_at: datetime | None
    cancelled_by: uuid.UUID | None
    cancel_reason: str | None
    expiry_reason: ExpiryReason | None
    actual_start_time: datetime | None
    actual_end_time: datetime | None
    duration_minutes: int | None
    earnings_credited: bool
    room_id: str
    created_at: datetime
    updated_at: datetime
    agenda: str | None = None
    """A super-mentor meeting's agenda (``Agenda``)."""

    @classmethod
    def of(cls, slot: Slot) -> SlotView:
        fields = {name: getattr(slot, name) for name in cls.__struct_fields__}
        return cls(**fields)


class SlotChange(msgspec.Struct, frozen=True, kw_only=True):
    """What a move writes besides the status (None: left as is)."""

    student_id: uuid.UUID | None = None
    is_available: bool | None = None
    booking_note: str | None = None
    requested_at: datetime | None = None
    decided_at: datetime | None = None
    cancelled_by: uuid.UUID | None = None
    cancel_reason: str | None = None
    expiry_reason: ExpiryReason | None = None
    email_action_nonce: str | None = None
    clear_nonce: bool = False
    actual_start_time: datetime | None = None
    actual_end_time: datetime | None = None
    duration_minutes: int | None = None
    earnings_credited: bool | None = None
    earnings_credited_at: datetime | None = None


Instant = Annotated[datetime, msgspec.Meta(tz=True)]


class SlotWindow(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    start_date_time: Instant
    end_date_time: Instant


class PublishSlots(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    slots: Annotated[list[SlotWindow], msgspec.Meta(min_length=1, max_length=MAX_PUBLISH)]


class RemoveSlots(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    slot_ids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=MAX_PUBLISH)]


class RemovedSlots(msgspec.Struct, frozen=True, kw_only=True):
    removed: list[uuid.UUID]
    booked: list[uuid.UUID]
    """Asked for but not ``open`` (booked or past): left as they are."""
    missing: list[uuid.UUID]
    """Not a slot of the caller."""


class BookingRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    mentor_id: uuid.UUID
    start_date_time: Instant
    end_date_time: Instant
    note: Note | None = None


class DecisionNote(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    reason: Reason | None = None


class Completion(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An ADMIN may complete without verified attendance: ``override`` with a reason."""

    override: bool = False
    reason: Reason | None = None


class SlotProgress(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    status: SlotStatus
    actual_start_time: datetime | None
    actual_end_time: datetime | None
    duration_minutes: int | None
    earnings_credited: bool
    earnings_credited_at: datetime | None


class EmailAction(enum.StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class AuthorRole(enum.StrEnum):
    STUDENT = "STUDENT"
    MENTOR = "MENTOR"


class Experience(enum.StrEnum):
    EXCELLENT = "excellent"
    GOOD = "good"
    AVERAGE = "average"
    BELOW_AVERAGE = "below_average"
    POOR = "poor"


Rating = Annotated[float, msgspec.Meta(ge=1.0, le=5.0, multiple_of=0.5)]


class NewFeedback(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    rating: Rating
    experience: Experience
    is_mentor_joined_on_time: bool | None = None
    comments: Annotated[str, msgspec.Meta(max_length=2000)] = ""


class Feedback(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    slot_id: uuid.UUID
    author_role: AuthorRole
    rating: float
    experience: Experience
    is_mentor_joined_on_time: bool | None
    comments: str
    created_at: datetime


MAX_PENDING_REQUESTS = 3
REQUEST_TTL = timedelta(days=14)


class RequestStatus(enum.StrEnum):
    PENDING = "PENDING"
    FULFILLED = "FULFILLED"
    DISMISSED = "DISMISSED"
    EXPIRED = "EXPIRED"


class NewAvailabilityRequest(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"
):
    preferred_date: date
    note: Annotated[str, msgspec.Meta(max_length=500)] = ""


class AvailabilityRequest(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    student_id: uuid.UUID
    mentor_id: uuid.UUID
    preferred_date: date
    note: str
    status: RequestStatus
    created_at: datetime
    resolved_at: datetime | None = None


class NewCoachingMeeting(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """A super mentor's coaching meeting (§4): an ADMIN names the super mentor, a super mentor
    schedules for themselves."""

    student_id: uuid.UUID
    start_date_time: Instant
    end_date_time: Instant
    agenda: Agenda
    note: Note | None = None
    mentor_id: uuid.UUID | None = None


class NewAssignment(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    student_id: uuid.UUID


class Assignment(msgspec.Struct, frozen=True, kw_only=True):
    """A student a super mentor coaches (``super_mentor_students``)."""

    id: uuid.UUID
    super_mentor_id: uuid.UUID
    student_id: uuid.UUID
    assigned_by: uuid.UUID | None
    assigned_at: datetime


class StatusChange(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The compatibility facade's body: the status to reach (and an optional reason)."""

    status: SlotStatus
    reason: Reason | None = None


IdempotencyKey = Annotated[str, msgspec.Meta(min_length=1, max_length=255, pattern=r"^[!-~]+$")]
"""Printable ASCII without spaces, at most 255 characters."""
KEY_TTL = timedelta(hours=48)


class BookingKey(msgspec.Struct, frozen=True, kw_only=True):
    """A student's ``Idempotency-Key`` on a booking: the request it named (a hash of the body)
    and the slot it booked, kept ``KEY_TTL``."""

    student_id: uuid.UUID
    key: str
    request_hash: str
    slot_id: uuid.UUID | None
    created_at: datetime
    expires_at: datetime


MAX_STATS_DAYS = 366


class StatusCount(msgspec.Struct, frozen=True, kw_only=True):
    status: SlotStatus
    count: int


class MentorCount(msgspec.Struct, frozen=True, kw_only=True):
    mentor_id: uuid.UUID
    name: str
    count: int
    completed: int


class DayCount(msgspec.Struct, frozen=True, kw_only=True):
    day: date
    count: int


class SlotCounts(msgspec.Struct, frozen=True, kw_only=True):
    total: int
    by_status: list[StatusCount]
    by_mentor: list[MentorCount]
    """The mentors with the most slots in the range, most first."""
    by_day: list[DayCount]
    """Days with at least one slot, in the display time zone, earliest first."""


class SlotStats(msgspec.Struct, frozen=True, kw_only=True):
    """Slots starting in [``from_day``, ``to_day``] (whole days in ``timezone``)."""

    from_day: date
    to_day: date
    timezone: str
    counts: SlotCounts
