"""The earnings sweep's read over ``slots`` (``mas.core.mentorship.meetings.sweep``): completed
mentor calls whose earning is not flagged, by id (keyset: a run walks them all once, whatever
stays unflagged)."""

from __future__ import annotations

import uuid
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from mas.adapters.db.mentorship.meetings_tables import SlotRow
from mas.core.mentorship.meetings.model import MeetingType, SlotStatus

SLOTS = cast(Table, SlotRow.__table__)


class SqlUncreditedMeetings:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def uncredited(self, after: uuid.UUID | None, limit: int) -> list[uuid.UUID]:
        query = select(SLOTS.c.id).where(
            SLOTS.c.status == SlotStatus.COMPLETED.value,
            SLOTS.c.meeting_type == MeetingType.MENTOR_CALL.value,
            SLOTS.c.earnings_credited.is_(False),
        )
        if after is not None:
            query = query.where(SLOTS.c.id > after)
        rows = await self._s.execute(query.order_by(SLOTS.c.id).limit(limit))
        return [row[0] for row in rows]
