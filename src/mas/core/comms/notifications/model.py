"""In-app notifications: categories, channels, preferences, broadcasts and their states.

What a person reads (the feed, the preference grid) and what an admin sends (a broadcast) are
Structs here; the rules that decide them (the locked email categories, the broadcast state
machine, the feed's cursor) sit beside them so the services and the HTTP layer share one copy.
"""

from __future__ import annotations

import enum
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import msgspec

from mas.core.platform.errors import FieldError, InvalidState, ValidationFailed


class Category(enum.StrEnum):
    ACADEMIC = "ACADEMIC"
    MEETING = "MEETING"
    PAYMENT = "PAYMENT"
    ANNOUNCEMENT = "ANNOUNCEMENT"
    ENGAGEMENT = "ENGAGEMENT"
    SYSTEM = "SYSTEM"


class Channel(enum.StrEnum):
    IN_APP = "IN_APP"
    EMAIL = "EMAIL"
    WHATSAPP = "WHATSAPP"


LOCKED: frozenset[tuple[Channel, Category]] = frozenset(
    {(Channel.EMAIL, Category.SYSTEM), (Channel.EMAIL, Category.PAYMENT)}
)
"""Toggles a user cannot turn off: account and payment mail must always reach them."""


class Audience(enum.StrEnum):
    ALL_STUDENTS = "ALL_STUDENTS"
    ROLE = "ROLE"
    BATCH = "BATCH"
    COURSE = "COURSE"


UNAVAILABLE_AUDIENCES = frozenset({Audience.BATCH, Audience.COURSE})
"""Batches and courses belong to the LMS, which does not exist yet."""


class BroadcastStatus(enum.StrEnum):
    DRAFT = "DRAFT"
    SCHEDULED = "SCHEDULED"
    SENDING = "SENDING"
    SENT = "SENT"
    CANCELLED = "CANCELLED"


BROADCAST_MOVES: dict[BroadcastStatus, frozenset[BroadcastStatus]] = {
    BroadcastStatus.DRAFT: frozenset({BroadcastStatus.SCHEDULED, BroadcastStatus.CANCELLED}),
    BroadcastStatus.SCHEDULED: frozenset({BroadcastStatus.SENDING, BroadcastStatus.CANCELLED}),
    BroadcastStatus.SENDING: frozenset({BroadcastStatus.SENT}),
    BroadcastStatus.SENT: frozenset(),
    BroadcastStatus.CANCELLED: frozenset(),
}


def check_move(current: BroadcastStatus, target: BroadcastStatus) -> None:
    if target not in BROADCAST_MOVES[current]:
        raise InvalidState("broadcast", current.value, target.value)


Title = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
Body = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
LINK_PATTERN = r"^/[^\s]*$"
Link = Annotated[
    str, msgspec.Meta(max_length=300, pattern=LINK_PATTERN, description="an in-app route")
]


class Notification(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    user_id: uuid.UUID
    category: Category
    title: str
    body: str
    link: str | None = None
    data: dict[str, Any] = {}
    broadcast_id: uuid.UUID | None = None
    is_read: bool = False
    read_at: datetime | None = None
    created_at: datetime


class NotificationPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[Notification]
    next_cursor: str | None


class UnreadCount(msgspec.Struct, frozen=True):
    count: int


class ReadAll(msgspec.Struct, frozen=True):
    updated: int


class Preference(msgspec.Struct, frozen=True, kw_only=True):
    channel: Channel
    category: Category
    enabled: bool
    locked: bool = False


class Preferences(msgspec.Struct, frozen=True):
    """Every (channel, category) toggle of one user."""

    items: list[Preference]


class PreferenceToggle(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    channel: Channel
    category: Category
    enabled: bool


class PreferenceUpdate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    items: Annotated[
        list[PreferenceToggle], msgspec.Meta(min_length=1, max_length=len(Channel) * len(Category))
    ]


def preference_grid(disabled: set[tuple[Channel, Category]]) -> Preferences:
    """Every (channel, category) toggle; a missing row is enabled."""
    return Preferences(
        [
            Preference(
                channel=channel,
                category=category,
                enabled=(channel, category) not in disabled,
                locked=(channel, category) in LOCKED,
            )
            for channel in Channel
            for category in Category
        ]
    )


def refuse_locked(update: PreferenceUpdate) -> None:
    locked = [t for t in update.items if not t.enabled and (t.channel, t.category) in LOCKED]
    if locked:
        names = ", ".join(f"{t.channel.value}/{t.category.value}" for t in locked)
        raise ValidationFailed(
            f"these cannot be turned off: {names}",
            code="category_locked",
            errors=[FieldError("items", f"{names} is always on")],
        )


class NewBroadcast(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    audience: Audience
    audience_ref: Annotated[str, msgspec.Meta(min_length=1, max_length=40)] | None = None
    """For ``ROLE``: the role name (``USER``, ``EXPERT``, …); none for ``ALL_STUDENTS``."""
    title: Title
    body: Body
    link: Link | None = None
    scheduled_at: Annotated[datetime, msgspec.Meta(tz=True)] | None = None
    """Send at this time (within a year); without it the broadcast is a DRAFT."""
    send_now: bool = False
    """Send right away instead of keeping a DRAFT (not with ``scheduled_at``)."""


class Broadcast(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    created_by: uuid.UUID | None
    audience: Audience
    audience_ref: str | None = None
    title: str
    body: str
    link: str | None = None
    scheduled_at: datetime | None = None
    status: BroadcastStatus
    recipients: int = 0
    """Audience members the fan-out went through (the four counts below add up to it)."""
    delivered: int = 0
    capped: int = 0
    """Students who had their 3 notifications of the day already."""
    skipped_pref: int = 0
    """Users who turned in-app announcements off."""
    duplicates: int = 0
    """Users who already had this broadcast (a run repeated after a lost progress)."""
    started_at: datetime | None = None
    sent_at: datetime | None = None
    cancelled_at: datetime | None = None
    created_at: datetime


class ChunkTally(msgspec.Struct, kw_only=True):
    """What one chunk of a fan-out did with its users."""

    recipients: int = 0
    delivered: int = 0
    capped: int = 0
    skipped_pref: int = 0
    duplicates: int = 0


def broadcast_key(broadcast_id: uuid.UUID) -> str:
    """Every recipient's dedupe key: a fan-out run again notifies nobody twice."""
    return f"broadcast:{broadcast_id}"


MAX_SCHEDULE_AHEAD = timedelta(days=365)

CURSOR_PATTERN = r"^[0-9]{1,16}-[0-9a-f]{32}$"
"""The last item's instant (microseconds since 1970, UTC) and its id: every string of this
shape is a position in the feed."""
_CURSOR = re.compile(CURSOR_PATTERN)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def encode_cursor(item: Notification) -> str:
    moment = item.created_at
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return f"{(moment - _EPOCH) // _MICROSECOND}-{item.id.hex}"


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    if not _CURSOR.search(cursor):
        raise ValidationFailed(
            "the cursor is not one this API gave out",
            errors=[FieldError("cursor", "unknown cursor")],
        )
    micros, _, ident = cursor.partition("-")
    return _EPOCH + int(micros) * _MICROSECOND, uuid.UUID(hex=ident)
