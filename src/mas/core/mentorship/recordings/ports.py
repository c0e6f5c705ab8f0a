"""What the recordings part needs from storage of rows, and its view of the unit of work (the
meeting's slot is read through the meetings part's repository, under the same name)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

from mas.core.mentorship.meetings.model import Slot
from mas.core.mentorship.recordings.model import Recording, RecordingChange, RecordingStatus
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.uow import UnitOfWork


class RecordingRepository(Protocol):
    async def add(self, recording: Recording) -> None: ...

    async def get(self, recording_id: uuid.UUID) -> Recording | None: ...

    async def count_of_slot(self, slot_id: uuid.UUID) -> int: ...

    async def move(
        self,
        recording_id: uuid.UUID,
        current: RecordingStatus,
        target: RecordingStatus,
        change: RecordingChange,
        now: datetime,
    ) -> Recording | None:
        """Compare-and-set on (id, status): write ``target`` and ``change``; None when the row
        was no longer in ``current``."""
        ...

    async def page(
        self, slot_id: uuid.UUID | None, status: RecordingStatus | None, req: PageRequest
    ) -> Page[Recording]:
        """Newest start first."""
        ...

    async def deleted_before(self, before: datetime, limit: int) -> list[Recording]:
        """``DELETED`` rows deleted before ``before`` whose object is not purged yet."""
        ...

    async def mark_purged(self, recording_id: uuid.UUID, now: datetime) -> bool:
        """Set ``purged_at`` if unset; whether this call set it."""
        ...

    async def uploading_since(self, started_before: datetime, limit: int) -> list[Recording]:
        """``UPLOADING`` rows started before ``started_before``."""
        ...


class MeetingSlots(Protocol):
    """The meetings part's slots, as far as recordings read them."""

    async def get(self, slot_id: uuid.UUID) -> Slot | None: ...


class RecordingsUnitOfWork(UnitOfWork, Protocol):
    recordings: RecordingRepository
    slots: MeetingSlots
