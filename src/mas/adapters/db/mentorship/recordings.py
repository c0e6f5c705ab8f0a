"""The recordings part's repository on SQLAlchemy Core (SQLite and PostgreSQL alike).

``move`` is the only writer of a recording's status: ``UPDATE … WHERE id AND status
RETURNING``; a transaction racing for the same row on PostgreSQL waits, re-reads the row, finds
the status moved and updates nothing. ``mark_purged`` is the same on ``purged_at IS NULL``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

import msgspec
from sqlalchemy import Table, and_, func, insert, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from mas.adapters.db.mentorship.recordings_tables import MeetingRecordingRow
from mas.core.mentorship.recordings.model import Recording, RecordingChange, RecordingStatus
from mas.core.platform.paging import Page, PageRequest

RECORDINGS = cast(Table, MeetingRecordingRow.__table__)
FIELDS = [RECORDINGS.c[name] for name in Recording.__struct_fields__]


def _recording(row: Any) -> Recording:
    return msgspec.convert(dict(row), Recording)


class SqlRecordingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(self, recording: Recording) -> None:
        values = {name: getattr(recording, name) for name in Recording.__struct_fields__}
        values.update(
            status=recording.status.value,
            mime_type=recording.mime_type.value,
            created_at=recording.started_at,
            updated_at=recording.started_at,
        )
        await self._s.execute(insert(RECORDINGS).values(**values))

    async def get(self, recording_id: uuid.UUID) -> Recording | None:
        row = (
            await self._s.execute(select(*FIELDS).where(RECORDINGS.c.id == recording_id))
        ).first()
        return _recording(row._mapping) if row else None

    async def count_of_slot(self, slot_id: uuid.UUID) -> int:
        found = await self._s.scalar(
            select(func.count()).select_from(RECORDINGS).where(RECORDINGS.c.slot_id == slot_id)
        )
        return int(found or 0)

    async def move(
        self,
        recording_id: uuid.UUID,
        current: RecordingStatus,
        target: RecordingStatus,
        change: RecordingChange,
        now: datetime,
    ) -> Recording | None:
        values: dict[str, Any] = {
            name: getattr(change, name)
            for name in RecordingChange.__struct_fields__
            if getattr(change, name) is not None
        }
        values.update(status=target.value, updated_at=now)
        row = (
            await self._s.execute(
                update(RECORDINGS)
                .where(RECORDINGS.c.id == recording_id, RECORDINGS.c.status == current.value)
                .values(**values)
                .returning(*FIELDS)
            )
        ).first()
        return _recording(row._mapping) if row else None

    async def page(
        self, slot_id: uuid.UUID | None, status: RecordingStatus | None, req: PageRequest
    ) -> Page[Recording]:
        where = []
        if slot_id is not None:
            where.append(RECORDINGS.c.slot_id == slot_id)
        if status is not None:
            where.append(RECORDINGS.c.status == status.value)
        condition = and_(true(), *where)
        total = await self._s.scalar(select(func.count()).select_from(RECORDINGS).where(condition))
        rows = await self._s.execute(
            select(*FIELDS)
            .where(condition)
            .order_by(RECORDINGS.c.started_at.desc(), RECORDINGS.c.id.desc())
            .offset(req.offset)
            .limit(req.page_size)
        )
        return Page(
            items=[_recording(r) for r in rows.mappings()],
            total=total or 0,
            page=req.page,
            page_size=req.page_size,
        )

    async def deleted_before(self, before: datetime, limit: int) -> list[Recording]:
        rows = await self._s.execute(
            select(*FIELDS)
            .where(
                RECORDINGS.c.status == RecordingStatus.DELETED.value,
                RECORDINGS.c.deleted_at < before,
                RECORDINGS.c.purged_at.is_(None),
            )
            .order_by(RECORDINGS.c.deleted_at, RECORDINGS.c.id)
            .limit(limit)
        )
        return [_recording(r) for r in rows.mappings()]

    async def mark_purged(self, recording_id: uuid.UUID, now: datetime) -> bool:
        marked = await self._s.execute(
            update(RECORDINGS)
            .where(RECORDINGS.c.id == recording_id, RECORDINGS.c.purged_at.is_(None))
            .values(purged_at=now, updated_at=now)
            .returning(RECORDINGS.c.id)
        )
        return marked.first() is not None

    async def uploading_since(self, started_before: datetime, limit: int) -> list[Recording]:
        rows = await self._s.execute(
            select(*FIELDS)
            .where(
                RECORDINGS.c.status == RecordingStatus.UPLOADING.value,
                RECORDINGS.c.started_at < started_before,
            )
            .order_by(RECORDINGS.c.started_at, RECORDINGS.c.id)
            .limit(limit)
        )
        return [_recording(r) for r in rows.mappings()]
