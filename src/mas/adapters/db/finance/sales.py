"""The sales part's repositories: discount requests (moves as a CAS on the status), the
pipeline cost ledger (insert-or-skip on the idempotency key, SQL sums), and the CRM's team
roster read for a sales head's view."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mas.adapters.db.crm.tables import SalesTeamMemberRow
from mas.adapters.db.finance.sales_tables import discount_requests as REQUESTS
from mas.adapters.db.finance.sales_tables import pipeline_cost_ledger as LEDGER
from mas.core.finance.sales.model import (
    CostTotal,
    Decision,
    DiscountRequest,
    DiscountStatus,
    PipelineCostEntry,
)
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.uow import DuplicateKey

MEMBERS = SalesTeamMemberRow.__table__


def _request(row: Any) -> DiscountRequest:
    values = dict(row._mapping)
    values["status"] = DiscountStatus(values["status"])
    return DiscountRequest(**values)


def _entry(row: Any) -> PipelineCostEntry:
    return PipelineCostEntry(**dict(row._mapping))


class SqlDiscountRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(self, request: DiscountRequest) -> None:
        values = {name: getattr(request, name) for name in request.__struct_fields__}
        values["status"] = request.status.value
        try:
            async with self._s.begin_nested():
                await self._s.execute(REQUESTS.insert().values(**values))
        except IntegrityError:
            raise DuplicateKey("an active request for this student and batch exists") from None

    async def get(self, request_id: uuid.UUID) -> DiscountRequest | None:
        row = (await self._s.execute(select(REQUESTS).where(REQUESTS.c.id == request_id))).first()
        return _request(row) if row else None

    async def move(
        self,
        request_id: uuid.UUID,
        current: DiscountStatus,
        target: DiscountStatus,
        decision: Decision,
        now: datetime,
    ) -> DiscountRequest | None:
        changes = {
            name: getattr(decision, name)
            for name in decision.__struct_fields__
            if getattr(decision, name) is not None
        }
        row = (
            await self._s.execute(
                update(REQUESTS)
                .where(REQUESTS.c.id == request_id, REQUESTS.c.status == current.value)
                .values(status=target.value, updated_at=now, **changes)
                .returning(*REQUESTS.c)
            )
        ).first()
        return _request(row) if row else None

    async def active(self, student_email: str, batch_id: uuid.UUID) -> DiscountRequest | None:
        row = (
            await self._s.execute(
                select(REQUESTS).where(
                    REQUESTS.c.student_email == student_email,
                    REQUESTS.c.batch_id == batch_id,
                    REQUESTS.c.status.in_(
                        [DiscountStatus.PENDING.value, DiscountStatus.APPROVED.value]
                    ),
                )
            )
        ).first()
        return _request(row) if row else None

    async def list(
        self,
        requested_by: list[uuid.UUID] | None,
        status: DiscountStatus | None,
        req: PageRequest,
    ) -> Page[DiscountRequest]:
        where = []
        if requested_by is not None:
            where.append(REQUESTS.c.requested_by.in_(requested_by))
        if status is not None:
            where.append(REQUESTS.c.status == status.value)
        total = (
            await self._s.execute(select(func.count()).select_from(REQUESTS).where(*where))
        ).scalar_one()
        rows = (
            await self._s.execute(
                select(REQUESTS)
                .where(*where)
                .order_by(REQUESTS.c.created_at.desc(), REQUESTS.c.id.desc())
                .offset(req.offset)
                .limit(req.page_size)
            )
        ).all()
        return Page(
            items=[_request(r) for r in rows], total=total, page=req.page, page_size=req.page_size
        )

    async def expire(self, pending_before: datetime, now: datetime) -> int:
        expired = DiscountStatus.EXPIRED.value
        stale = await self._s.execute(
            update(REQUESTS)
            .where(
                REQUESTS.c.status == DiscountStatus.PENDING.value,
                REQUESTS.c.created_at < pending_before,
            )
            .values(status=expired, updated_at=now)
        )
        lapsed = await self._s.execute(
            update(REQUESTS)
            .where(
                REQUESTS.c.status == DiscountStatus.APPROVED.value,
                REQUESTS.c.valid_until <= now,
            )
            .values(status=expired, updated_at=now)
        )
        return int(stale.rowcount or 0) + int(lapsed.rowcount or 0)  # type: ignore[attr-defined]


class SqlCostLedgerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(self, entry: PipelineCostEntry) -> bool:
        values = {name: getattr(entry, name) for name in entry.__struct_fields__}
        values["stage"] = entry.stage.value
        values["provider"] = entry.provider.value
        values["unit_type"] = entry.unit_type.value
        dialect = self._s.bind.dialect.name
        statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(LEDGER)
        inserted = await self._s.execute(
            statement.values(**values)
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(LEDGER.c.id)
        )
        return inserted.first() is not None

    async def by_key(self, key: str) -> PipelineCostEntry | None:
        row = (await self._s.execute(select(LEDGER).where(LEDGER.c.idempotency_key == key))).first()
        return _entry(row) if row else None

    async def of_job(self, job_id: uuid.UUID, limit: int) -> list[PipelineCostEntry]:
        rows = (
            await self._s.execute(
                select(LEDGER)
                .where(LEDGER.c.job_id == job_id)
                .order_by(LEDGER.c.occurred_at, LEDGER.c.id)
                .limit(limit)
            )
        ).all()
        return [_entry(r) for r in rows]

    async def totals(
        self, group_by: str, start: datetime, end: datetime, job_id: uuid.UUID | None
    ) -> list[CostTotal]:
        column = {"stage": LEDGER.c.stage, "provider": LEDGER.c.provider, "job": LEDGER.c.job_id}[
            group_by
        ]
        where = [LEDGER.c.occurred_at >= start, LEDGER.c.occurred_at < end]
        if job_id is not None:
            where.append(LEDGER.c.job_id == job_id)
        spent = func.sum(LEDGER.c.cost_millipaise)
        rows = (
            await self._s.execute(
                select(column.label("key"), func.count().label("entries"), spent.label("cost"))
                .where(*where)
                .group_by(column)
                .order_by(spent.desc(), column)
            )
        ).all()
        return [
            CostTotal(key=str(r.key), entries=int(r.entries), cost_millipaise=int(r.cost or 0))
            for r in rows
        ]


class SqlSalesTeamRoster:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def members_of(self, head_id: uuid.UUID) -> list[uuid.UUID]:
        rows = await self._s.execute(
            select(MEMBERS.c.user_id).where(
                MEMBERS.c.sales_head_id == head_id, MEMBERS.c.active.is_(True)
            )
        )
        return [r.user_id for r in rows]
