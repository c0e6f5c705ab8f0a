"""The participation log: rows opened and closed by the room, read as the meetings part's
``AttendanceLog`` (completion, auto-completion and the cleanup's no-show reasons)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from mas.core.mentorship.meetings.model import Slot
from mas.core.mentorship.meetings.ports import Attendance
from mas.core.mentorship.room.model import ParticipantRole, Participation, attendance
from mas.core.mentorship.room.ports import RoomUnitOfWork
from mas.core.platform.ids import uuid7
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import UnitOfWorkFactory


class ParticipationLog:
    def __init__(
        self, uow: UnitOfWorkFactory[RoomUnitOfWork], clock: Clock, min_verified_minutes: int
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._minimum = timedelta(minutes=max(1, min_verified_minutes))

    async def opened(
        self, slot_id: uuid.UUID, user_id: uuid.UUID, role: ParticipantRole
    ) -> uuid.UUID:
        """A row for a member who just joined; its id (to close it)."""
        row = Participation(
            id=uuid7(), slot_id=slot_id, user_id=user_id, role=role, joined_at=self._clock.now()
        )
        async with self._uow() as uow:
            await uow.meeting_participants.add(row)
            await uow.commit()
        return row.id

    async def closed(self, row_id: uuid.UUID) -> bool:
        """Close a row (leave or disconnect); False when it was closed already."""
        async with self._uow() as uow:
            done = await uow.meeting_participants.close(row_id, self._clock.now())
            await uow.commit()
        return done

    async def rows(self, slot_id: uuid.UUID) -> list[Participation]:
        async with self._uow() as uow:
            return await uow.meeting_participants.of_slot(slot_id)

    async def of(self, slot: Slot) -> Attendance:
        """The meetings part's ``AttendanceLog``: verified when both were in the room together
        for at least ``MAS_MIN_VERIFIED_MINUTES`` inside the slot window."""
        rows = await self.rows(slot.id)
        window = (slot.start_date_time, slot.end_date_time)
        return attendance(rows, window, self._clock.now(), self._minimum)
