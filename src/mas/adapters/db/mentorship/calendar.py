"""The calendar part's repositories on SQLAlchemy Core (SQLite and PostgreSQL alike): the
sealed Google credentials, and the part's columns of ``slots`` (event id, reminder stamps),
each written by a compare-and-set ``UPDATE … WHERE`` so two workers never both win."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

import msgspec
from sqlalchemy import Table, and_, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from mas.adapters.db.mentorship.calendar_tables import GoogleAuthTokenRow
from mas.adapters.db.mentorship.meetings_tables import SlotRow
from mas.core.mentorship.calendar.model import ReminderKind, SealedCredential
from mas.core.mentorship.meetings.model import Slot, SlotStatus
from mas.core.platform.ids import uuid7

TOKENS = cast(Table, GoogleAuthTokenRow.__table__)
SLOTS = cast(Table, SlotRow.__table__)
SLOT_FIELDS = [SLOTS.c[name] for name in Slot.__struct_fields__]
PLATFORM = "platform"
ON_CALENDAR = [SlotStatus.CONFIRMED.value, SlotStatus.CANCELLATION_REQUESTED.value]
OFF_CALENDAR = [s.value for s in (SlotStatus.CANCELLED, SlotStatus.REJECTED, SlotStatus.EXPIRED)]
CONFIRMED = SlotStatus.CONFIRMED.value
STAMP = {
    ReminderKind.DAY_BEFORE: SLOTS.c.reminder_24h_sent_at,
    ReminderKind.SOON: SLOTS.c.reminder_15m_sent_at,
}


def owner_key(owner_user_id: uuid.UUID | None) -> str:
    return str(owner_user_id) if owner_user_id is not None else PLATFORM


def _slots(rows: Any) -> list[Slot]:
    return [msgspec.convert(dict(row), Slot) for row in rows.mappings()]


class SqlGoogleCredentials:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def get(self, owner_user_id: uuid.UUID | None) -> SealedCredential | None:
        row = (
            await self._s.execute(
                select(TOKENS).where(TOKENS.c.owner_key == owner_key(owner_user_id))
            )
        ).first()
        if row is None:
            return None
        return SealedCredential(
            owner_user_id=row.owner_user_id,
            access_token=row.access_token,
            refresh_token=row.refresh_token,
            key_version=row.key_version,
            expires_at=row.expiry_date,
            scope=row.scope,
            connected_at=row.connected_at,
            updated_at=row.updated_at,
        )

    async def put(self, credential: SealedCredential) -> None:
        values = {
            "owner_key": owner_key(credential.owner_user_id),
            "owner_user_id": credential.owner_user_id,
            "access_token": credential.access_token,
            "refresh_token": credential.refresh_token,
            "key_version": credential.key_version,
            "expiry_date": credential.expires_at,
            "scope": credential.scope,
            "connected_at": credential.connected_at,
            "updated_at": credential.updated_at,
        }
        postgres = self._s.get_bind().dialect.name == "postgresql"
        insert = pg_insert if postgres else sqlite_insert
        statement = insert(TOKENS).values(id=uuid7(), created_at=credential.updated_at, **values)
        changed = {k: statement.excluded[k] for k in values if k != "owner_key"}
        await self._s.execute(
            statement.on_conflict_do_update(index_elements=["owner_key"], set_=changed)
        )

    async def remove(self, owner_user_id: uuid.UUID | None) -> bool:
        result = await self._s.execute(
            delete(TOKENS).where(TOKENS.c.owner_key == owner_key(owner_user_id))
        )
        return bool(cast(Any, result).rowcount)


class SqlCalendarSlots:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def attach_event(self, slot_id: uuid.UUID, event_id: str) -> bool:
        await self._s.execute(
            update(SLOTS)
            .where(
                SLOTS.c.id == slot_id,
                SLOTS.c.status.in_(ON_CALENDAR),
                SLOTS.c.calendar_event_id.is_(None),
            )
            .values(calendar_event_id=event_id)
        )
        held = await self._s.scalar(
            select(SLOTS.c.calendar_event_id).where(
                SLOTS.c.id == slot_id, SLOTS.c.status.in_(ON_CALENDAR)
            )
        )
        return held == event_id

    async def detach_event(self, slot_id: uuid.UUID, event_id: str) -> bool:
        result = await self._s.execute(
            update(SLOTS)
            .where(SLOTS.c.id == slot_id, SLOTS.c.calendar_event_id == event_id)
            .values(calendar_event_id=None)
        )
        return bool(cast(Any, result).rowcount)

    async def without_event(self, after: datetime, limit: int) -> list[Slot]:
        rows = await self._s.execute(
            select(*SLOT_FIELDS)
            .where(
                SLOTS.c.status == CONFIRMED,
                SLOTS.c.start_date_time > after,
                SLOTS.c.calendar_event_id.is_(None),
                SLOTS.c.student_id.is_not(None),
            )
            .order_by(SLOTS.c.start_date_time, SLOTS.c.id)
            .limit(limit)
        )
        return _slots(rows)

    async def with_stale_event(self, limit: int) -> list[Slot]:
        rows = await self._s.execute(
            select(*SLOT_FIELDS)
            .where(SLOTS.c.status.in_(OFF_CALENDAR), SLOTS.c.calendar_event_id.is_not(None))
            .order_by(SLOTS.c.start_date_time, SLOTS.c.id)
            .limit(limit)
        )
        return _slots(rows)

    async def reminders_due(
        self, kind: ReminderKind, after: datetime, until: datetime, limit: int
    ) -> list[Slot]:
        rows = await self._s.execute(
            select(*SLOT_FIELDS)
            .where(
                and_(
                    SLOTS.c.status == CONFIRMED,
                    SLOTS.c.start_date_time > after,
                    SLOTS.c.start_date_time <= until,
                    STAMP[kind].is_(None),
                )
            )
            .order_by(SLOTS.c.start_date_time, SLOTS.c.id)
            .limit(limit)
        )
        return _slots(rows)

    async def mark_reminded(self, slot_id: uuid.UUID, kind: ReminderKind, now: datetime) -> bool:
        result = await self._s.execute(
            update(SLOTS)
            .where(SLOTS.c.id == slot_id, SLOTS.c.status == CONFIRMED, STAMP[kind].is_(None))
            .values({STAMP[kind]: now})
        )
        return bool(cast(Any, result).rowcount)
