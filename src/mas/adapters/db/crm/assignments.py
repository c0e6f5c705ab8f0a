"""Lead assignment on SQLAlchemy: the pool and slot columns of ``raw_leads``, and the history
(``lead_assignments``, assignment activities, ownership transfers).

Writes are set-based (see ``set_based``): one UPDATE per (slot, assignee) group, one
executemany per history table. Every slot write bumps the lead's version.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, union, update
from sqlalchemy.ext.asyncio import AsyncSession

from mas.adapters.db.crm.set_based import LIVE_LEAD, OPEN_STATUSES, in_chunks, plain
from mas.adapters.db.crm.tables import (
    LeadActivityRow,
    LeadAssignmentRow,
    LeadIntakeRow,
    LeadOwnershipTransferRow,
    RawLeadRow,
)
from mas.core.crm.assignment_model import (
    Assignment,
    LeadSlots,
    OwnershipTransfer,
    Slot,
    SlotChange,
)
from mas.core.crm.model import Activity, LeadStatus

_SLOT_COLUMN = {Slot.FIRST_LINE: "assigned_to", Slot.SECOND_LINE: "assigned_counsellor"}
_SLOT_COLUMNS = (
    RawLeadRow.id,
    RawLeadRow.status,
    RawLeadRow.owning_sales_head_id,
    RawLeadRow.assigned_to,
    RawLeadRow.assigned_counsellor,
    RawLeadRow.deleted_at,
)


def _to_slots(row: Any) -> LeadSlots:
    return LeadSlots(
        id=row.id,
        status=LeadStatus(row.status),
        owning_sales_head_id=row.owning_sales_head_id,
        assigned_to=row.assigned_to,
        assigned_counsellor=row.assigned_counsellor,
        deleted=row.deleted_at is not None,
    )


def _bump(now: datetime) -> dict[str, Any]:
    return {"version": RawLeadRow.version + 1, "updated_at": now}


class SqlAssignmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # --- slots of leads -----------------------------------------------------------------------

    async def lead_slots(
        self, lead_ids: list[uuid.UUID], *, lock: bool = False
    ) -> dict[uuid.UUID, LeadSlots]:
        found: dict[uuid.UUID, LeadSlots] = {}
        # Sorted, so that concurrent lockers take the rows in the same order.
        for chunk in in_chunks(sorted(set(lead_ids))):
            statement = select(*_SLOT_COLUMNS).where(RawLeadRow.id.in_(chunk))
            if lock:
                statement = statement.with_for_update()
            found.update({row.id: _to_slots(row) for row in await self._session.execute(statement)})
        return found

    async def open_leads_held(self, user_id: uuid.UUID) -> list[LeadSlots]:
        statement = (
            select(*_SLOT_COLUMNS)
            .where(
                LIVE_LEAD,
                RawLeadRow.status.in_(OPEN_STATUSES),
                or_(RawLeadRow.assigned_to == user_id, RawLeadRow.assigned_counsellor == user_id),
            )
            .order_by(RawLeadRow.id)
            .with_for_update()
        )
        return [_to_slots(row) for row in await self._session.execute(statement)]

    async def apply_slot_changes(self, changes: list[SlotChange], now: datetime) -> None:
        groups: dict[tuple[Slot, uuid.UUID | None], list[uuid.UUID]] = defaultdict(list)
        for change in changes:
            groups[(change.slot, change.assignee_id)].append(change.lead_id)
        for (slot, assignee), ids in groups.items():
            for chunk in in_chunks(ids):
                await self._session.execute(
                    update(RawLeadRow)
                    .where(RawLeadRow.id.in_(chunk))
                    .values({_SLOT_COLUMN[slot]: assignee, **_bump(now)})
                    .execution_options(synchronize_session=False)
                )

    async def claim_first_line(
        self, picks: list[tuple[uuid.UUID, uuid.UUID]], now: datetime
    ) -> set[uuid.UUID]:
        groups: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
        for lead_id, assignee in picks:
            groups[assignee].append(lead_id)
        claimed: set[uuid.UUID] = set()
        for assignee, ids in groups.items():
            for chunk in in_chunks(ids):
                result = await self._session.execute(
                    update(RawLeadRow)
                    .where(RawLeadRow.id.in_(chunk), RawLeadRow.assigned_to.is_(None), LIVE_LEAD)
                    .values(assigned_to=assignee, **_bump(now))
                    .returning(RawLeadRow.id)
                    .execution_options(synchronize_session=False)
                )
                claimed.update(result.scalars())
        return claimed

    async def unassigned_intake_leads(
        self,
        head_id: uuid.UUID,
        channel: str,
        after: uuid.UUID | None,
        limit: int,
        *,
        ref_prefix: str | None = None,
        since: datetime | None = None,
    ) -> list[uuid.UUID]:
        statement = (
            select(RawLeadRow.id)
            .join(LeadIntakeRow, LeadIntakeRow.raw_lead_id == RawLeadRow.id)
            .where(
                LeadIntakeRow.channel == channel,
                LeadIntakeRow.outcome == "CREATED",
                RawLeadRow.owning_sales_head_id == head_id,
                RawLeadRow.assigned_to.is_(None),
                RawLeadRow.status.in_(OPEN_STATUSES),
                LIVE_LEAD,
            )
            .distinct()
            .order_by(RawLeadRow.id)
            .limit(limit)
        )
        if ref_prefix is not None:
            statement = statement.where(
                LeadIntakeRow.channel_ref.startswith(ref_prefix, autoescape=True)
            )
        if since is not None:
            statement = statement.where(LeadIntakeRow.created_at >= since)
        if after is not None:
            statement = statement.where(RawLeadRow.id > after)
        return list((await self._session.execute(statement)).scalars())

    async def move_to_pool(
        self, lead_ids: list[uuid.UUID], head_id: uuid.UUID, clear_assignees: bool, now: datetime
    ) -> None:
        values: dict[str, Any] = {"owning_sales_head_id": head_id, **_bump(now)}
        if clear_assignees:
            values.update(assigned_to=None, assigned_counsellor=None)
        for chunk in in_chunks(lead_ids):
            await self._session.execute(
                update(RawLeadRow)
                .where(RawLeadRow.id.in_(chunk))
                .values(values)
                .execution_options(synchronize_session=False)
            )

    # --- workload -----------------------------------------------------------------------------

    async def open_lead_counts(self, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
        counts: dict[uuid.UUID, int] = {}
        live_open = and_(LIVE_LEAD, RawLeadRow.status.in_(OPEN_STATUSES))
        for chunk in in_chunks(user_ids):
            held = union(
                select(RawLeadRow.id, RawLeadRow.assigned_to.label("holder")).where(
                    live_open, RawLeadRow.assigned_to.in_(chunk)
                ),
                select(RawLeadRow.id, RawLeadRow.assigned_counsellor.label("holder")).where(
                    live_open, RawLeadRow.assigned_counsellor.in_(chunk)
                ),
            ).subquery()
            rows = await self._session.execute(
                select(held.c.holder, func.count()).group_by(held.c.holder)
            )
            counts.update({holder: int(count) for holder, count in rows})
        return counts

    async def assigned_since(
        self, user_ids: list[uuid.UUID], since: datetime
    ) -> dict[uuid.UUID, int]:
        counts: dict[uuid.UUID, int] = {}
        for chunk in in_chunks(user_ids):
            rows = await self._session.execute(
                select(LeadAssignmentRow.assignee_id, func.count())
                .where(
                    LeadAssignmentRow.assignee_id.in_(chunk),
                    LeadAssignmentRow.slot == Slot.FIRST_LINE.value,
                    LeadAssignmentRow.created_at >= since,
                )
                .group_by(LeadAssignmentRow.assignee_id)
            )
            counts.update({assignee: int(count) for assignee, count in rows})
        return counts

    # --- history ------------------------------------------------------------------------------

    async def add_assignments(self, rows: list[Assignment]) -> None:
        if not rows:
            return
        await self._session.execute(
            insert(LeadAssignmentRow),
            [
                {
                    "id": row.id,
                    "raw_lead_id": row.raw_lead_id,
                    "slot": row.slot.value,
                    "assignee_id": row.assignee_id,
                    "previous_assignee_id": row.previous_assignee_id,
                    "method": row.method.value,
                    "reason": row.reason,
                    "request_id": row.request_id,
                    "assigned_by": row.assigned_by,
                    "created_at": row.created_at,
                    "updated_at": row.created_at,
                }
                for row in rows
            ],
        )

    async def add_activities(self, rows: list[Activity]) -> None:
        if not rows:
            return
        await self._session.execute(
            insert(LeadActivityRow),
            [
                {
                    "id": activity.id,
                    "raw_lead_id": activity.raw_lead_id,
                    "actor_id": activity.actor_id,
                    "type": activity.type.value,
                    "summary": activity.summary,
                    "data": activity.data,
                    "occurred_at": activity.occurred_at,
                    "created_at": activity.occurred_at,
                    "updated_at": activity.occurred_at,
                }
                for activity in rows
            ],
        )

    async def add_transfer(self, transfer: OwnershipTransfer) -> None:
        values = {name: getattr(transfer, name) for name in transfer.__struct_fields__}
        values["lead_ids"] = plain(transfer.lead_ids)
        values["updated_at"] = transfer.created_at
        await self._session.execute(insert(LeadOwnershipTransferRow).values(**values))
