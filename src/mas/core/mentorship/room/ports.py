"""What the room part needs from storage, and its view of the unit of work."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

from mas.core.mentorship.meetings.ports import SlotRepository
from mas.core.mentorship.room.model import ParticipantRole, Participation
from mas.core.platform.ports.uow import UnitOfWork


class ParticipationRepository(Protocol):
    async def add(self, row: Participation) -> None: ...

    async def close(self, row_id: uuid.UUID, left_at: datetime) -> bool:
        """Set ``left_at`` on a row still open; whether it was."""
        ...

    async def of_slot(self, slot_id: uuid.UUID) -> list[Participation]: ...


class ParticipationRecorder(Protocol):
    """Opens a row when the student or the mentor joins, closes it when they go
    (``ParticipationLog``)."""

    async def opened(
        self, slot_id: uuid.UUID, user_id: uuid.UUID, role: ParticipantRole
    ) -> uuid.UUID: ...

    async def closed(self, row_id: uuid.UUID) -> bool: ...


class RoomUnitOfWork(UnitOfWork, Protocol):
    meeting_participants: ParticipationRepository
    slots: SlotRepository
