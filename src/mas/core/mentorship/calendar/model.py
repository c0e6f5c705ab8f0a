"""Google Calendar connections and meeting reminders (mentorship.md §3 GoogleCalendarCredential,
§6 ``calendar_sync`` and ``reminders``).

A credential belongs to a mentor (``owner_user_id``) or, with no owner, to the platform's own
Google account, whose calendar carries the meetings of mentors who connected none. Its tokens
are sealed at rest; what leaves the part is a ``CalendarConnection`` (never a token).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime, timedelta

import msgspec

SCOPE = "https://www.googleapis.com/auth/calendar.events"
STATE_TTL = timedelta(minutes=10)
REFRESH_EARLY = timedelta(minutes=1)
"""An access token is refreshed this long before Google says it expires."""


class GoogleGrant(msgspec.Struct, frozen=True, kw_only=True):
    """What Google's token endpoint answered (a refresh answers no refresh token)."""

    access_token: str
    expires_at: datetime
    refresh_token: str = ""
    scope: str = ""


class Credential(msgspec.Struct, frozen=True, kw_only=True):
    """A stored credential, opened."""

    owner_user_id: uuid.UUID | None
    access_token: str
    refresh_token: str
    expires_at: datetime
    scope: str
    connected_at: datetime

    def stale(self, now: datetime) -> bool:
        return not self.access_token or self.expires_at - REFRESH_EARLY <= now


class SealedCredential(msgspec.Struct, frozen=True, kw_only=True):
    """A credential as stored: each token sealed by the secret box under ``key_version``."""

    owner_user_id: uuid.UUID | None
    access_token: bytes
    refresh_token: bytes
    key_version: int
    expires_at: datetime
    scope: str
    connected_at: datetime
    updated_at: datetime


class CalendarConnection(msgspec.Struct, frozen=True, kw_only=True):
    """Whether a calendar is connected (the API's view: no token ever leaves)."""

    connected: bool
    connected_at: datetime | None = None
    scope: str | None = None


class ConnectLink(msgspec.Struct, frozen=True, kw_only=True):
    """Google's consent page for this caller; the link's state dies at ``expires_at``."""

    url: str
    expires_at: datetime


class ReminderKind(enum.StrEnum):
    DAY_BEFORE = "24h"
    SOON = "15m"


LEAD: dict[ReminderKind, timedelta] = {
    ReminderKind.DAY_BEFORE: timedelta(hours=24),
    ReminderKind.SOON: timedelta(minutes=15),
}
"""A reminder is due once the meeting starts within its lead. The day-before one is not sent
inside the last 15 minutes, where the other takes over."""


def window(kind: ReminderKind, now: datetime) -> tuple[datetime, datetime]:
    """The starts ``(after, until]`` a reminder of ``kind`` is due for at ``now``."""
    if kind is ReminderKind.DAY_BEFORE:
        return now + LEAD[ReminderKind.SOON], now + LEAD[kind]
    return now, now + LEAD[kind]
