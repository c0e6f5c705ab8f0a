"""``GET /api/meetings/{id}/bot-info?ticket=`` (mentorship.md §5, §9 check 14): what the
recording bot may know of the meeting it was sent to, and nothing more.

Every refusal (no ticket, a forged, expired or other meeting's ticket, no such meeting, a
meeting not ``confirmed``) is the same ``NotFound``: the answer never says whether a meeting
exists.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from mas.core.mentorship.meetings.model import SlotStatus
from mas.core.mentorship.room import bot_tickets
from mas.core.mentorship.room.ports import RoomUnitOfWork
from mas.core.platform.errors import NotFound
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import UnitOfWorkFactory


class BotMeeting(msgspec.Struct, frozen=True, kw_only=True):
    meeting_id: uuid.UUID
    room_id: str
    start: datetime
    end: datetime
    status: SlotStatus


class BotInfo:
    def __init__(self, uow: UnitOfWorkFactory[RoomUnitOfWork], clock: Clock, key: bytes) -> None:
        self._uow = uow
        self._clock = clock
        self._key = key

    async def of(self, meeting_id: uuid.UUID, ticket: str | None) -> BotMeeting:
        if not bot_tickets.verify(self._key, ticket, meeting_id, self._clock.now()):
            raise _not_found()
        async with self._uow() as uow:
            slot = await uow.slots.get(meeting_id)
        if slot is None or slot.student_id is None or slot.status is not SlotStatus.CONFIRMED:
            raise _not_found()
        return BotMeeting(
            meeting_id=slot.id,
            room_id=slot.room_id,
            start=slot.start_date_time,
            end=slot.end_date_time,
            status=slot.status,
        )


def _not_found() -> NotFound:
    return NotFound("no such meeting", code="meeting_not_found")
