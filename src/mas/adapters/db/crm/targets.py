"""Daily targets and their stored actuals on SQLAlchemy, and the activities that count towards
them. Both tables are keyed by (salesperson, date) and written by upsert, so a rerun of the
rollup replaces what it wrote before."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, cast

import msgspec
from sqlalchemy import Select, Table, distinct, select
from sqlalchemy.ext.asyncio import AsyncSession

from mas.adapters.db.crm.set_based import in_chunks, upsert
from mas.adapters.db.crm.tables import DailyTargetActualRow, DailyTargetRow, LeadActivityRow
from mas.core.crm.model import ActivityType
from mas.core.crm.targets_model import COUNTED_TYPES, ActivityFact, Actuals, DailyTarget
from mas.core.platform.ids import uuid7

_KEY = ["salesperson_id", "target_date"]
_TARGET_NUMBERS = (
    "calls_target",
    "connected_calls_target",
    "follow_ups_target",
    "interested_target",
    "conversions_target",
    "revenue_target_paise",
)
_ACTUAL_NUMBERS = (
    "calls_done",
    "connected_calls",
    "follow_ups_done",
    "moved_to_interested",
    "conversions",
    "revenue_paise",
)


class SqlTargetRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def _of_people(
        self, statement: Select[Any], person_column: Any, person_ids: list[uuid.UUID] | None
    ) -> list[Any]:
        """The rows of ``statement`` (everyone's when ``person_ids`` is None)."""
        if person_ids is None:
            return list((await self._session.execute(statement)).scalars())
        rows: list[Any] = []
        for chunk in in_chunks(person_ids):
            found = await self._session.execute(statement.where(person_column.in_(chunk)))
            rows.extend(found.scalars())
        return rows

    async def upsert(self, rows: list[DailyTarget]) -> None:
        await upsert(
            self._session,
            cast(Table, DailyTargetRow.__table__),
            [{name: getattr(row, name) for name in row.__struct_fields__} for row in rows],
            _KEY,
            [*_TARGET_NUMBERS, "set_by", "note", "updated_at"],
        )

    async def in_range(
        self, person_ids: list[uuid.UUID] | None, start: date, end: date
    ) -> list[DailyTarget]:
        statement = (
            select(DailyTargetRow)
            .where(DailyTargetRow.target_date >= start, DailyTargetRow.target_date <= end)
            .order_by(DailyTargetRow.target_date, DailyTargetRow.salesperson_id)
        )
        rows = await self._of_people(statement, DailyTargetRow.salesperson_id, person_ids)
        targets = [msgspec.convert(row, DailyTarget, from_attributes=True) for row in rows]
        return sorted(targets, key=lambda t: (t.target_date, str(t.salesperson_id)))

    async def stored_actuals(
        self, person_ids: list[uuid.UUID] | None, start: date, end: date
    ) -> list[Actuals]:
        statement = select(DailyTargetActualRow).where(
            DailyTargetActualRow.target_date >= start, DailyTargetActualRow.target_date <= end
        )
        rows = await self._of_people(statement, DailyTargetActualRow.salesperson_id, person_ids)
        return [msgspec.convert(row, Actuals, from_attributes=True) for row in rows]

    async def upsert_actuals(self, rows: list[Actuals]) -> None:
        await upsert(
            self._session,
            cast(Table, DailyTargetActualRow.__table__),
            [
                {
                    **{name: getattr(row, name) for name in row.__struct_fields__},
                    "id": uuid7(),
                    "created_at": row.computed_at,
                    "updated_at": row.computed_at,
                }
                for row in rows
            ],
            _KEY,
            [*_ACTUAL_NUMBERS, "computed_at", "updated_at"],
        )

    async def activity_facts(
        self, actor_ids: list[uuid.UUID] | None, start: datetime, end: datetime
    ) -> list[ActivityFact]:
        statement = select(
            LeadActivityRow.actor_id,
            LeadActivityRow.raw_lead_id,
            LeadActivityRow.type,
            LeadActivityRow.occurred_at,
            LeadActivityRow.data,
        ).where(
            LeadActivityRow.type.in_([kind.value for kind in COUNTED_TYPES]),
            LeadActivityRow.actor_id.is_not(None),
            LeadActivityRow.occurred_at >= start,
            LeadActivityRow.occurred_at < end,
        )
        batches = (
            [statement]
            if actor_ids is None
            else [
                statement.where(LeadActivityRow.actor_id.in_(chunk))
                for chunk in in_chunks(actor_ids)
            ]
        )
        facts: list[ActivityFact] = []
        for batch in batches:
            for row in await self._session.execute(batch):
                facts.append(
                    ActivityFact(
                        actor_id=row.actor_id,
                        raw_lead_id=row.raw_lead_id,
                        type=ActivityType(row.type),
                        occurred_at=row.occurred_at,
                        data=row.data or {},
                    )
                )
        return facts

    async def people_with_targets(self, day: date) -> list[uuid.UUID]:
        rows = await self._session.execute(
            select(distinct(DailyTargetRow.salesperson_id)).where(DailyTargetRow.target_date == day)
        )
        return list(rows.scalars())
