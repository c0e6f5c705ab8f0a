"""The lead journal (intakes and activities, append-only) and follow-ups on SQLAlchemy Core.

There is deliberately no update or delete of ``lead_activities`` here: the journal is
append-only, and on PostgreSQL a trigger refuses any UPDATE or DELETE as well.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime
from itertools import groupby
from typing import Any, TypeVar, cast

import msgspec
from sqlalchemy import ColumnElement, Table, and_, insert, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mas.adapters.db.crm.tables import LeadActivityRow, LeadFollowUpRow, LeadIntakeRow, RawLeadRow
from mas.core.crm.model import Activity, FollowUp, FollowUpStatus, IntakeChannel, LeadIntake
from mas.core.crm.queries import FollowUpItem
from mas.core.platform.ports.uow import DuplicateKey


def table(model: Any) -> Table:
    """The Core table of an ORM model (lists read rows, never ORM objects)."""
    return cast(Table, model.__table__)


LEADS = table(RawLeadRow)
ACTIVITIES = table(LeadActivityRow)
INTAKES = table(LeadIntakeRow)
FOLLOW_UPS = table(LeadFollowUpRow)
Item = TypeVar("Item")
CHUNK = 1000


def chunks(items: list[Item], size: int = CHUNK) -> Iterator[list[Item]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def columns(table: Table, struct: type[Any]) -> list[Any]:
    return [table.c[f.name] for f in msgspec.structs.fields(struct) if f.name in table.c]


def plain(value: Any) -> Any:
    """An enum's value; anything else as it is."""
    return value.value if hasattr(value, "value") else value


def values_of(struct: Any) -> dict[str, Any]:
    return {f.name: plain(getattr(struct, f.name)) for f in msgspec.structs.fields(struct)}


async def serialise_writers(session: AsyncSession) -> None:
    """SQLite has no row locks: take its one write lock before reading what will be changed.

    PostgreSQL gets ``SELECT … FOR UPDATE`` on the rows instead. A no-op UPDATE opens the write
    transaction, so a concurrent writer waits here (busy timeout) rather than failing later on a
    version it read too early.
    """
    if session.get_bind().dialect.name == "sqlite":
        await session.execute(text("UPDATE raw_leads SET version = version WHERE 0"))


def before_clause(
    time_col: Any, id_col: Any, before: tuple[datetime, uuid.UUID] | None
) -> ColumnElement[bool] | None:
    if before is None:
        return None
    moment, last = before
    return or_(time_col < moment, and_(time_col == moment, id_col < last))


_ACTIVITY = columns(ACTIVITIES, Activity)
_INTAKE = columns(INTAKES, LeadIntake)
_FOLLOW_UP = columns(FOLLOW_UPS, FollowUp)


class SqlLeadJournal:
    _s: AsyncSession

    async def add_intake(self, intake: LeadIntake) -> None:
        try:
            await self._s.execute(insert(INTAKES).values(**values_of(intake)))
        except IntegrityError:
            raise DuplicateKey(f"intake {intake.channel.value}:{intake.channel_ref}") from None

    async def intake_by_ref(self, channel: IntakeChannel, channel_ref: str) -> LeadIntake | None:
        row = (
            (
                await self._s.execute(
                    select(*_INTAKE).where(
                        INTAKES.c.channel == channel.value,
                        INTAKES.c.channel_ref == channel_ref[:100],
                    )
                )
            )
            .mappings()
            .first()
        )
        return msgspec.convert(dict(row), LeadIntake) if row else None

    async def intakes_of(self, lead_id: uuid.UUID) -> list[LeadIntake]:
        rows = await self._s.execute(
            select(*_INTAKE)
            .where(INTAKES.c.raw_lead_id == lead_id)
            .order_by(INTAKES.c.created_at, INTAKES.c.id)
        )
        return [msgspec.convert(dict(r), LeadIntake) for r in rows.mappings()]

    async def append(self, *activities: Activity) -> None:
        if not activities:
            return
        rows = [values_of(a) for a in activities]
        for batch in chunks(rows):
            await self._s.execute(insert(ACTIVITIES), batch)
        # last_activity_at only moves forward
        by_time = sorted(activities, key=lambda a: a.occurred_at)
        for moment, group in groupby(by_time, key=lambda a: a.occurred_at):
            ids = sorted({a.raw_lead_id for a in group})
            for part in chunks(ids):
                await self._s.execute(
                    update(LEADS)
                    .where(
                        LEADS.c.id.in_(part),
                        or_(LEADS.c.last_activity_at.is_(None), LEADS.c.last_activity_at < moment),
                    )
                    .values(last_activity_at=moment)
                )

    async def _activities(
        self, condition: ColumnElement[bool], before: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[Activity]:
        stmt = select(*_ACTIVITY).where(condition)
        older = before_clause(ACTIVITIES.c.occurred_at, ACTIVITIES.c.id, before)
        if older is not None:
            stmt = stmt.where(older)
        rows = await self._s.execute(
            stmt.order_by(ACTIVITIES.c.occurred_at.desc(), ACTIVITIES.c.id.desc()).limit(limit)
        )
        return [msgspec.convert(dict(r), Activity) for r in rows.mappings()]

    async def timeline(
        self, lead_id: uuid.UUID, before: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[Activity]:
        return await self._activities(ACTIVITIES.c.raw_lead_id == lead_id, before, limit)

    async def feed(
        self, actor_id: uuid.UUID, before: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[Activity]:
        return await self._activities(ACTIVITIES.c.actor_id == actor_id, before, limit)


class SqlFollowUpStore:
    _s: AsyncSession

    async def add_follow_up(self, follow_up: FollowUp) -> None:
        await self._s.execute(
            insert(FOLLOW_UPS).values(**values_of(follow_up), updated_at=follow_up.created_at)
        )

    async def get_follow_up(self, follow_up_id: uuid.UUID) -> FollowUp | None:
        row = (
            (await self._s.execute(select(*_FOLLOW_UP).where(FOLLOW_UPS.c.id == follow_up_id)))
            .mappings()
            .first()
        )
        return msgspec.convert(dict(row), FollowUp) if row else None

    async def save_follow_up(self, follow_up: FollowUp, was: FollowUpStatus) -> bool:
        result = await self._s.execute(
            update(FOLLOW_UPS)
            .where(FOLLOW_UPS.c.id == follow_up.id, FOLLOW_UPS.c.status == was.value)
            .values(
                status=follow_up.status.value,
                due_at=follow_up.due_at,
                outcome_note=follow_up.outcome_note,
                completed_at=follow_up.completed_at,
            )
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def open_follow_ups(self, lead_id: uuid.UUID) -> list[FollowUp]:
        rows = await self._s.execute(
            select(*_FOLLOW_UP)
            .where(
                FOLLOW_UPS.c.raw_lead_id == lead_id,
                FOLLOW_UPS.c.status.in_(
                    [FollowUpStatus.PENDING.value, FollowUpStatus.MISSED.value]
                ),
            )
            .order_by(FOLLOW_UPS.c.due_at, FOLLOW_UPS.c.id)
        )
        return [msgspec.convert(dict(r), FollowUp) for r in rows.mappings()]

    async def agenda(
        self,
        owner_id: uuid.UUID,
        statuses: Sequence[FollowUpStatus],
        due_from: datetime | None,
        due_before: datetime,
        limit: int,
    ) -> list[FollowUpItem]:
        stmt = (
            select(
                *_FOLLOW_UP, LEADS.c.name.label("lead_name"), LEADS.c.phone_e164.label("lead_phone")
            )
            .join(LEADS, LEADS.c.id == FOLLOW_UPS.c.raw_lead_id)
            .where(
                FOLLOW_UPS.c.owner_id == owner_id,
                FOLLOW_UPS.c.status.in_([s.value for s in statuses]),
                FOLLOW_UPS.c.due_at < due_before,
                LEADS.c.deleted_at.is_(None),
            )
        )
        if due_from is not None:
            stmt = stmt.where(FOLLOW_UPS.c.due_at >= due_from)
        rows = await self._s.execute(
            stmt.order_by(FOLLOW_UPS.c.due_at, FOLLOW_UPS.c.id).limit(limit)
        )
        return [msgspec.convert(dict(r), FollowUpItem) for r in rows.mappings()]

    async def mark_missed(self, due_before: datetime, now: datetime, limit: int) -> list[FollowUp]:
        ids = (
            (
                await self._s.execute(
                    select(FOLLOW_UPS.c.id)
                    .where(
                        FOLLOW_UPS.c.status == FollowUpStatus.PENDING.value,
                        FOLLOW_UPS.c.due_at < due_before,
                    )
                    .order_by(FOLLOW_UPS.c.due_at)
                    .limit(limit)
                )
            )
            .scalars()
            .all()
        )
        if not ids:
            return []
        # Conditional on PENDING: a concurrent run (or a completion) wins, never both.
        rows = await self._s.execute(
            update(FOLLOW_UPS)
            .where(FOLLOW_UPS.c.id.in_(ids), FOLLOW_UPS.c.status == FollowUpStatus.PENDING.value)
            .values(status=FollowUpStatus.MISSED.value, updated_at=now)
            .returning(*_FOLLOW_UP)
        )
        return [msgspec.convert(dict(r), FollowUp) for r in rows.mappings()]

    async def owners_due(self, due_from: datetime, due_before: datetime) -> list[uuid.UUID]:
        rows = await self._s.execute(
            select(FOLLOW_UPS.c.owner_id)
            .join(LEADS, LEADS.c.id == FOLLOW_UPS.c.raw_lead_id)
            .where(
                FOLLOW_UPS.c.status.in_(
                    [FollowUpStatus.PENDING.value, FollowUpStatus.MISSED.value]
                ),
                FOLLOW_UPS.c.due_at >= due_from,
                FOLLOW_UPS.c.due_at < due_before,
                LEADS.c.deleted_at.is_(None),
            )
            .distinct()
        )
        return sorted(rows.scalars().all())

    async def cancel_open_follow_ups(self, lead_id: uuid.UUID, now: datetime) -> int:
        result = await self._s.execute(
            update(FOLLOW_UPS)
            .where(
                FOLLOW_UPS.c.raw_lead_id == lead_id,
                FOLLOW_UPS.c.status == FollowUpStatus.PENDING.value,
            )
            .values(status=FollowUpStatus.CANCELLED.value, updated_at=now)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
