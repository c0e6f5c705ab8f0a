"""The job ledger and its "run at" queue on SQLAlchemy."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mas.adapters.db.models import JobRunAtRow, JobRunRow
from mas.core.jobs.model import JobFilter, JobRun, JobStatus
from mas.core.ports.uow import DuplicateKey
from mas.core.shared.ids import uuid7
from mas.core.shared.paging import Page, PageRequest

_FIELDS = [f.name for f in msgspec.structs.fields(JobRun)]


_COLUMNS = [getattr(JobRunRow, name) for name in _FIELDS]


def _to_run(row: Any) -> JobRun:
    """From an ORM object or a Core row of ``_COLUMNS`` (lists read Core rows: no identity map)."""
    if isinstance(row, JobRunRow):
        return msgspec.convert(row, JobRun, from_attributes=True)
    return msgspec.convert(row._mapping, JobRun, strict=False)


def _values(run: JobRun) -> dict[str, Any]:
    return {name: getattr(run, name) for name in _FIELDS}


class SqlJobRunRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, run: JobRun) -> None:
        values = _values(run)
        values["status"] = run.status.value
        try:
            async with self._session.begin_nested():
                await self._session.execute(insert(JobRunRow).values(**values))
        except IntegrityError as exc:
            raise DuplicateKey(str(exc.orig)) from None

    async def get(self, run_id: uuid.UUID) -> JobRun | None:
        row = await self._session.get(JobRunRow, run_id, populate_existing=True)
        return _to_run(row) if row else None

    async def find_active(self, task: str, key: str) -> JobRun | None:
        stmt = select(JobRunRow).where(
            JobRunRow.task == task,
            JobRunRow.idempotency_key == key,
            JobRunRow.status != JobStatus.SKIPPED.value,
        )
        row = (await self._session.execute(stmt)).scalar_one_or_none()
        return _to_run(row) if row else None

    async def save(self, run: JobRun) -> bool:
        values = _values(run)
        values.pop("id")
        values["status"] = run.status.value
        values["version"] = run.version + 1
        stmt = (
            update(JobRunRow)
            .where(JobRunRow.id == run.id, JobRunRow.version == run.version)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        result = await self._session.execute(stmt)
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return False
        run.version += 1
        return True

    async def page(self, flt: JobFilter, req: PageRequest) -> Page[JobRun]:
        conditions = []
        if flt.status is not None:
            conditions.append(JobRunRow.status == flt.status.value)
        if flt.task is not None:
            conditions.append(JobRunRow.task == flt.task)
        where = and_(True, *conditions)
        total = (
            await self._session.execute(select(func.count()).select_from(JobRunRow).where(where))
        ).scalar_one()
        rows = await self._session.execute(
            select(*_COLUMNS)
            .where(where)
            .order_by(JobRunRow.enqueued_at.desc(), JobRunRow.id.desc())
            .offset(req.offset)
            .limit(req.page_size)
        )
        return Page(
            items=[_to_run(r) for r in rows], total=total, page=req.page, page_size=req.page_size
        )

    async def schedule(self, run_id: uuid.UUID, task: str, run_at: datetime) -> None:
        await self._session.execute(
            insert(JobRunAtRow).values(id=uuid7(), run_id=run_id, task=task, run_at=run_at)
        )

    async def claim_due(
        self, now: datetime, limit: int, hold_s: float = 60.0
    ) -> list[tuple[uuid.UUID, uuid.UUID, str]]:
        due = (
            select(JobRunAtRow.id)
            .where(
                JobRunAtRow.run_at <= now,
                or_(JobRunAtRow.claimed_until.is_(None), JobRunAtRow.claimed_until < now),
            )
            .order_by(JobRunAtRow.run_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        stmt = (
            update(JobRunAtRow)
            .where(JobRunAtRow.id.in_(due))
            .values(claimed_until=now + timedelta(seconds=hold_s))
            .returning(JobRunAtRow.id, JobRunAtRow.run_id, JobRunAtRow.task)
            .execution_options(synchronize_session=False)
        )
        result = await self._session.execute(stmt)
        return [(row.id, row.run_id, row.task) for row in result]

    async def release_claimed(self, claim_ids: list[uuid.UUID]) -> None:
        if claim_ids:
            await self._session.execute(delete(JobRunAtRow).where(JobRunAtRow.id.in_(claim_ids)))

    async def stale_running(self, now: datetime, limit: int) -> list[JobRun]:
        stmt = (
            select(JobRunRow)
            .where(JobRunRow.status == JobStatus.RUNNING.value, JobRunRow.lease_until < now)
            .limit(limit)
        )
        return [_to_run(r) for r in (await self._session.execute(stmt)).scalars()]
