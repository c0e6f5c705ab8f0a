"""Bulk-assignment requests on SQLAlchemy, and the progress of their apply runs (read from the
``lead_assignments`` rows that carry the request's id)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, and_, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mas.adapters.db.crm.set_based import in_chunks, plain
from mas.adapters.db.crm.tables import BulkAssignmentRequestRow, LeadAssignmentRow
from mas.core.crm.assignment_model import BulkRequest, RequestStatus
from mas.core.platform.paging import Page, PageRequest

_FROZEN = ("id", "created_at", "lead_ids", "assignee_ids", "explicit_map")


def _values(request: BulkRequest) -> dict[str, Any]:
    values = {name: getattr(request, name) for name in request.__struct_fields__}
    for name in ("lead_ids", "assignee_ids", "explicit_map", "slot", "strategy", "status"):
        values[name] = plain(values[name])
    return values


class SqlBulkRequestRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, request: BulkRequest) -> None:
        await self._session.execute(insert(BulkAssignmentRequestRow).values(**_values(request)))

    async def get(self, request_id: uuid.UUID, *, lock: bool = False) -> BulkRequest | None:
        statement = select(BulkAssignmentRequestRow).where(
            BulkAssignmentRequestRow.id == request_id
        )
        if lock:
            statement = statement.with_for_update()
        row = (
            await self._session.execute(statement.execution_options(populate_existing=True))
        ).scalar_one_or_none()
        return msgspec.convert(row, BulkRequest, from_attributes=True) if row else None

    async def save(self, request: BulkRequest) -> None:
        values = _values(request)
        for frozen in _FROZEN:
            values.pop(frozen)
        await self._session.execute(
            update(BulkAssignmentRequestRow)
            .where(BulkAssignmentRequestRow.id == request.id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )

    async def page(
        self, pool_head_id: uuid.UUID | None, status: RequestStatus | None, req: PageRequest
    ) -> Page[BulkRequest]:
        conditions: list[ColumnElement[bool]] = []
        if pool_head_id is not None:
            conditions.append(BulkAssignmentRequestRow.pool_head_id == pool_head_id)
        if status is not None:
            conditions.append(BulkAssignmentRequestRow.status == status.value)
        where = and_(True, *conditions)
        total = (
            await self._session.execute(
                select(func.count()).select_from(BulkAssignmentRequestRow).where(where)
            )
        ).scalar_one()
        listed = [
            column for column in BulkAssignmentRequestRow.__table__.c if column.name != "lead_ids"
        ]
        rows = await self._session.execute(
            select(*listed)
            .where(where)
            .order_by(
                BulkAssignmentRequestRow.created_at.desc(), BulkAssignmentRequestRow.id.desc()
            )
            .offset(req.offset)
            .limit(req.page_size)
        )
        # Column names are SQLAlchemy's str subclass; msgspec wants plain str keys.
        items = [
            msgspec.convert(
                {**{str(key): value for key, value in row._asdict().items()}, "lead_ids": []},
                BulkRequest,
            )
            for row in rows
        ]
        return Page(items=items, total=int(total), page=req.page, page_size=req.page_size)

    async def applied_leads(
        self, request_id: uuid.UUID, lead_ids: list[uuid.UUID]
    ) -> set[uuid.UUID]:
        found: set[uuid.UUID] = set()
        for chunk in in_chunks(lead_ids):
            rows = await self._session.execute(
                select(LeadAssignmentRow.raw_lead_id).where(
                    LeadAssignmentRow.request_id == request_id,
                    LeadAssignmentRow.raw_lead_id.in_(chunk),
                )
            )
            found.update(rows.scalars())
        return found

    async def applied_per_assignee(self, request_id: uuid.UUID) -> dict[uuid.UUID, int]:
        rows = await self._session.execute(
            select(LeadAssignmentRow.assignee_id, func.count())
            .where(LeadAssignmentRow.request_id == request_id)
            .group_by(LeadAssignmentRow.assignee_id)
        )
        return {assignee: int(count) for assignee, count in rows if assignee is not None}

    async def expire_pending(self, request_id: uuid.UUID, now: datetime) -> bool:
        result = await self._session.execute(
            update(BulkAssignmentRequestRow)
            .where(
                BulkAssignmentRequestRow.id == request_id,
                BulkAssignmentRequestRow.status == RequestStatus.PENDING.value,
                BulkAssignmentRequestRow.expires_at <= now,
            )
            .values(status=RequestStatus.EXPIRED.value, decided_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def due_to_expire(self, now: datetime, limit: int) -> list[uuid.UUID]:
        rows = await self._session.execute(
            select(BulkAssignmentRequestRow.id)
            .where(
                BulkAssignmentRequestRow.status == RequestStatus.PENDING.value,
                BulkAssignmentRequestRow.expires_at <= now,
            )
            .order_by(BulkAssignmentRequestRow.expires_at)
            .limit(limit)
        )
        return list(rows.scalars())

    async def idle(self, before: datetime, limit: int) -> list[BulkRequest]:
        rows = await self._session.execute(
            select(BulkAssignmentRequestRow)
            .where(
                BulkAssignmentRequestRow.status.in_(
                    [RequestStatus.APPROVED.value, RequestStatus.APPLYING.value]
                ),
                BulkAssignmentRequestRow.updated_at < before,
            )
            .order_by(BulkAssignmentRequestRow.updated_at)
            .limit(limit)
        )
        return [msgspec.convert(row, BulkRequest, from_attributes=True) for row in rows.scalars()]
