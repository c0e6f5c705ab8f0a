"""What the calendar part needs: its credential rows, its side of the ``slots`` rows (event id
and reminder stamps), the secret box and Google's OAuth endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

from mas.core.mentorship.calendar.model import GoogleGrant, ReminderKind, SealedCredential
from mas.core.mentorship.meetings.model import Slot
from mas.core.mentorship.meetings.ports import SlotRepository
from mas.core.platform.ports.uow import UnitOfWork


class GoogleOAuth(Protocol):
    """Google's OAuth 2.0 web-server flow (consent page, token endpoint)."""

    @property
    def configured(self) -> bool:
        """A client id and secret are set."""
        ...

    def consent_url(self, state: str, redirect_uri: str) -> str: ...

    async def exchange_code(self, code: str, redirect_uri: str) -> GoogleGrant:
        """Trade the callback's code; ``CalendarRejected`` for a bad or used code."""
        ...

    async def refresh(self, refresh_token: str) -> GoogleGrant:
        """A fresh access token; ``CalendarRejected`` for a revoked grant."""
        ...


class CredentialRepository(Protocol):
    async def get(self, owner_user_id: uuid.UUID | None) -> SealedCredential | None:
        """The owner's credential (``None``: the platform's account)."""
        ...

    async def put(self, credential: SealedCredential) -> None:
        """Insert or replace the owner's credential."""
        ...

    async def remove(self, owner_user_id: uuid.UUID | None) -> bool:
        """Delete the owner's credential; whether there was one."""
        ...


class CalendarSlotRepository(Protocol):
    """The calendar part's columns of ``slots``: the event id and the reminder stamps."""

    async def attach_event(self, slot_id: uuid.UUID, event_id: str) -> bool:
        """Compare-and-set: store ``event_id`` while the meeting is live (confirmed or
        cancellation requested) and holds no other event; whether it now holds this one."""
        ...

    async def detach_event(self, slot_id: uuid.UUID, event_id: str) -> bool:
        """Compare-and-set: clear the event id while it is still ``event_id``."""
        ...

    async def without_event(self, after: datetime, limit: int) -> list[Slot]:
        """Confirmed meetings starting after ``after`` with no event yet, earliest first."""
        ...

    async def with_stale_event(self, limit: int) -> list[Slot]:
        """Meetings no longer live that still hold an event id (a delete that failed)."""
        ...

    async def reminders_due(
        self, kind: ReminderKind, after: datetime, until: datetime, limit: int
    ) -> list[Slot]:
        """Confirmed meetings starting in ``(after, until]`` whose ``kind`` reminder was not
        sent, earliest first."""
        ...

    async def mark_reminded(self, slot_id: uuid.UUID, kind: ReminderKind, now: datetime) -> bool:
        """Compare-and-set: stamp the ``kind`` reminder of a still confirmed meeting whose
        stamp is empty; whether this call stamped it (a second call answers False)."""
        ...


class CalendarUnitOfWork(UnitOfWork, Protocol):
    google_credentials: CredentialRepository
    calendar_slots: CalendarSlotRepository
    slots: SlotRepository
