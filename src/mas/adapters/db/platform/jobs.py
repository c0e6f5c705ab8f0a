"""The job ledger and its "run at" queue on SQLAlchemy.

``claim_runs`` / ``succeed_runs`` are the ledger's hot path as set-based Core statements on a
connection (see ``ledger_batcher``): the rules of ``mas.core.platform.job_model``
(``CLAIMABLE``, the lease, ``SUCCEEDS_FROM``) as one conditional ``UPDATE … RETURNING`` each,
for many runs at once.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    any_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql.dml import ReturningUpdate

from mas.adapters.db.platform.tables import JobRunAtRow, JobRunRow
from mas.core.platform.ids import uuid7
from mas.core.platform.job_model import CLAIMABLE, SUCCEEDS_FROM, JobFilter, JobRun, JobStatus
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.uow import DuplicateKey

_FIELDS = [f.name for f in msgspec.structs.fields(JobRun)]


_COLUMNS = [getattr(JobRunRow, name) for name in _FIELDS]


def _to_run(row: Any) -> JobRun:
    """From an ORM object or a Core row of ``_COLUMNS`` (lists read Core rows: no identity map)."""
    if isinstance(row, JobRunRow):
        return msgspec.convert(row, JobRun, from_attributes=True)
    # Zipped with the names rather than read through ``row._mapping``: four times faster.
    return msgspec.convert(dict(zip(_FIELDS, row, strict=True)), JobRun, strict=False)


def _values(run: JobRun) -> dict[str, Any]:
    return {name: getattr(run, name) for name in _FIELDS}


_RUNS: Table = JobRunRow.__table__  # type: ignore[assignment]
_AT = _RUNS.c.lease_until.type


def _listed(postgres: bool) -> ColumnElement[bool]:
    if postgres:  # one array parameter: one statement text whatever the batch size
        return _RUNS.c.id == any_(bindparam("ids", type_=postgresql.ARRAY(_RUNS.c.id.type)))
    return _RUNS.c.id.in_(bindparam("ids", expanding=True))


def _claim_statement(postgres: bool) -> ReturningUpdate[Any]:
    """``JobRun.start`` for each listed run a delivery may claim: queued or failed, or running
    with a lapsed lease. PostgreSQL re-checks the condition on a row that another transaction
    changed meanwhile, so of concurrent claims of one run exactly one matches."""
    return (
        update(_RUNS)
        .where(
            _listed(postgres),
            or_(
                _RUNS.c.status.in_(sorted(status.value for status in CLAIMABLE)),
                and_(
                    _RUNS.c.status == JobStatus.RUNNING.value,
                    or_(
                        _RUNS.c.lease_until.is_(None),
                        _RUNS.c.lease_until <= bindparam("claim_now", type_=_AT),
                    ),
                ),
            ),
        )
        .values(
            status=JobStatus.RUNNING.value,
            attempts=_RUNS.c.attempts + 1,
            started_at=bindparam("claim_now", type_=_AT),
            finished_at=None,
            next_attempt_at=None,
            lease_until=bindparam("claim_lease", type_=_AT),
            version=_RUNS.c.version + 1,
        )
        .returning(*(_RUNS.c[name] for name in _FIELDS))
    )


def _succeed_statement(postgres: bool) -> ReturningUpdate[Any]:
    """``JobRun.succeed`` for each listed run that is running."""
    return (
        update(_RUNS)
        .where(
            _listed(postgres),
            _RUNS.c.status.in_(sorted(status.value for status in SUCCEEDS_FROM)),
        )
        .values(
            status=JobStatus.SUCCEEDED.value,
            finished_at=bindparam("done_at", type_=_AT),
            lease_until=None,
            last_error=None,
            version=_RUNS.c.version + 1,
        )
        .returning(_RUNS.c.id)
    )


# Built once (keyed by "is it PostgreSQL"): executing them skips the ORM and the compiler.
_CLAIM = {postgres: _claim_statement(postgres) for postgres in (True, False)}
_SUCCEED = {postgres: _succeed_statement(postgres) for postgres in (True, False)}


def _listing(conn: AsyncConnection, ids: list[uuid.UUID]) -> tuple[bool, list[uuid.UUID]]:
    """Sorted, so concurrent batches lock rows in one order. An ``IN`` list of n values is a
    statement text of its own: elsewhere than on PostgreSQL the list is padded with a repeat to
    a power of two, which keeps the texts (and prepared statements) to a handful."""
    ordered = sorted(set(ids))
    if conn.dialect.name == "postgresql":
        return True, ordered
    size = 1 << (len(ordered) - 1).bit_length()
    return False, ordered + [ordered[-1]] * (size - len(ordered))


async def claim_runs(
    conn: AsyncConnection, run_ids: list[uuid.UUID], now: datetime, lease_until: datetime
) -> dict[uuid.UUID, JobRun]:
    """Claim whichever of ``run_ids`` a delivery may claim at ``now``, until ``lease_until``."""
    if not run_ids:
        return {}
    postgres, ids = _listing(conn, run_ids)
    params = {"ids": ids, "claim_now": now, "claim_lease": lease_until}
    rows = await conn.execute(_CLAIM[postgres], params)
    return {row.id: _to_run(row) for row in rows}


async def succeed_runs(
    conn: AsyncConnection, run_ids: list[uuid.UUID], now: datetime
) -> set[uuid.UUID]:
    """Mark whichever of ``run_ids`` is running succeeded at ``now``; returns those ids."""
    if not run_ids:
        return set()
    postgres, ids = _listing(conn, run_ids)
    result = await conn.execute(_SUCCEED[postgres], {"ids": ids, "done_at": now})
    return set(result.scalars())


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

    async def stale_queued(self, before: datetime, limit: int) -> list[JobRun]:
        waiting = select(JobRunAtRow.id).where(JobRunAtRow.run_id == JobRunRow.id).exists()
        stmt = (
            select(JobRunRow)
            .where(
                JobRunRow.status == JobStatus.QUEUED.value,
                JobRunRow.enqueued_at < before,
                ~waiting,
            )
            .limit(limit)
        )
        return [_to_run(r) for r in (await self._session.execute(stmt)).scalars()]

    async def stale_running(self, now: datetime, limit: int) -> list[JobRun]:
        stmt = (
            select(JobRunRow)
            .where(JobRunRow.status == JobStatus.RUNNING.value, JobRunRow.lease_until < now)
            .limit(limit)
        )
        return [_to_run(r) for r in (await self._session.execute(stmt)).scalars()]
