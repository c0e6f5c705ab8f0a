"""The calendar a confirmed meeting is put on (mentorship.md §7): Google Calendar in production
(``mas.adapters.mentorship.google_calendar``), ``FakeCalendar`` in tests.

Both calls are idempotent, because ``mentorship.calendar_sync`` retries them: creating with an
``idempotency_key`` already used answers the event made the first time (the event id is
derived from the key, so even a create whose answer was lost is found again), and deleting an
event that is already gone succeeds.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import datetime
from typing import Protocol

import msgspec

from mas.core.platform.errors import ExternalUnavailable, UpstreamRejected


class CalendarOwner(msgspec.Struct, frozen=True, kw_only=True):
    """Whose calendar: a ``GoogleCalendarCredential`` (mentorship.md §3), decrypted."""

    refresh_token: str
    user_id: uuid.UUID | None = None
    """``None``: the platform's own account."""
    calendar_id: str = "primary"
    access_token: str = ""
    """A still valid access token, if one is known (saves a refresh)."""
    access_expires_at: datetime | None = None


class CalendarUnavailable(ExternalUnavailable):
    """The calendar could not be reached or is busy (429, 5xx): the job tries again."""

    code = "calendar_unavailable"
    title = "Calendar unavailable"


class CalendarRejected(UpstreamRejected):
    """The calendar answered and refused (a revoked grant, a bad attendee): trying again would
    be refused again."""

    code = "calendar_rejected"
    title = "The calendar refused the request"


class CalendarPort(Protocol):
    async def create_event(
        self,
        owner: CalendarOwner,
        title: str,
        start: datetime,
        end: datetime,
        attendees: list[str],
        idempotency_key: str,
    ) -> str:
        """The event's id; the same ``idempotency_key`` answers the same event."""
        ...

    async def delete_event(self, owner: CalendarOwner, event_id: str) -> None:
        """Remove the event (attendees are told); an event already gone is not an error."""
        ...


def event_id_for(idempotency_key: str) -> str:
    """A Google Calendar event id for a key: 52 characters of base32hex (``0-9a-v``), what
    Calendar v3 accepts as a client-chosen id (5 to 1024 such characters)."""
    digest = hashlib.sha256(idempotency_key.encode()).digest()
    return base64.b32hexencode(digest).decode().rstrip("=").lower()
