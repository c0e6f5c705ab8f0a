"""The room part's participation repository on SQLAlchemy Core (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

import msgspec
from sqlalchemy import Table, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mas.adapters.db.mentorship.room_tables import MeetingParticipantRow
from mas.core.mentorship.room.model import Participation

PARTICIPANTS = cast(Table, MeetingParticipantRow.__table__)
FIELDS = [PARTICIPANTS.c[name] for name in Participation.__struct_fields__]


class SqlParticipationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(self, row: Participation) -> None:
        values: dict[str, Any] = msgspec.structs.asdict(row)
        values.update(role=row.role.value, created_at=row.joined_at, updated_at=row.joined_at)
        await self._s.execute(insert(PARTICIPANTS).values(**values))

    async def close(self, row_id: uuid.UUID, left_at: datetime) -> bool:
        done = await self._s.execute(
            update(PARTICIPANTS)
            .where(PARTICIPANTS.c.id == row_id, PARTICIPANTS.c.left_at.is_(None))
            .values(left_at=left_at, updated_at=left_at)
        )
        return bool(cast(Any, done).rowcount)

    async def of_slot(self, slot_id: uuid.UUID) -> list[Participation]:
        rows = await self._s.execute(
            select(*FIELDS)
            .where(PARTICIPANTS.c.slot_id == slot_id)
            .order_by(PARTICIPANTS.c.joined_at)
        )
        return [msgspec.convert(dict(row), Participation) for row in rows.mappings()]
