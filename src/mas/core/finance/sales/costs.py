"""The pipeline cost ledger (payments-finance.md §3 PipelineCostEntry, §9 check 15):
append-only spend per recruitment job and candidate, one entry per provider call (its
idempotency key), so a retried call is never counted twice; totals are SQL sums."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

from mas.core.finance.sales.model import (
    CostSummary,
    JobCosts,
    PipelineCostEntry,
    PipelineCostInput,
    Recorded,
)
from mas.core.finance.sales.ports import JobOwners, SalesUnitOfWork
from mas.core.identity.policy import Caller
from mas.core.platform.errors import FieldError, Forbidden, NotFound, ValidationFailed
from mas.core.platform.ids import uuid7
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import UnitOfWorkFactory

MAX_RANGE_DAYS = 366
JOB_ENTRIES = 1000
GROUPS = ("provider", "job")
EARLIEST = datetime(2015, 1, 1, tzinfo=UTC)


class CostLedger:
    def __init__(
        self, uow: UnitOfWorkFactory[SalesUnitOfWork], clock: Clock, jobs: JobOwners
    ) -> None:
        self._uow: Callable[[], SalesUnitOfWork] = uow
        self._clock = clock
        self._jobs = jobs

    async def record(self, data: PipelineCostInput) -> Recorded:
        """Idempotent on ``data.idempotency_key``: a second call returns the first entry."""
        if (data.original_currency is None) != (data.original_amount_micros is None):
            raise ValidationFailed(
                "an original amount and its currency come together",
                code="original_amount_incomplete",
                errors=[FieldError("original_currency", "set with original_amount_micros")],
            )
        now = self._clock.now()
        if not EARLIEST <= data.occurred_at <= now + timedelta(days=1):
            raise ValidationFailed(
                "a cost occurred between 2015 and now",
                code="occurred_at_out_of_range",
                errors=[FieldError("occurred_at", "from 2015-01-01 to now")],
            )
        entry = PipelineCostEntry(
            id=uuid7(),
            job_id=data.job_id,
            candidate_id=data.candidate_id,
            stage=data.stage,
            provider=data.provider,
            units=data.units,
            unit_type=data.unit_type,
            cost_millipaise=data.cost_millipaise,
            original_amount_micros=data.original_amount_micros,
            original_currency=data.original_currency,
            fx_rate_ppm=data.fx_rate_ppm,
            idempotency_key=data.idempotency_key,
            occurred_at=data.occurred_at,
            created_at=now,
        )
        async with self._uow() as uow:
            created = await uow.pipeline_cost_ledger.add(entry)
            stored = (
                entry if created else await uow.pipeline_cost_ledger.by_key(entry.idempotency_key)
            )
            await uow.commit()
        assert stored is not None
        return Recorded(entry=stored, created=created)

    async def of_job(self, caller: Caller, job_id: uuid.UUID) -> JobCosts:
        owner = await self._jobs.owner_of(job_id)
        if not caller.is_admin:
            if owner is None:
                raise NotFound("there is no such job", code="job_not_found")
            if owner != caller.user_id:
                raise Forbidden("this job is not yours", code="not_job_owner")
        far = datetime(9999, 1, 1, tzinfo=UTC)
        early = datetime(1970, 1, 1, tzinfo=UTC)
        async with self._uow() as uow:
            entries = await uow.pipeline_cost_ledger.of_job(job_id, JOB_ENTRIES)
            by_stage = await uow.pipeline_cost_ledger.totals("stage", early, far, job_id)
            by_provider = await uow.pipeline_cost_ledger.totals("provider", early, far, job_id)
        if owner is None and not entries:  # an admin asking about a job nobody knows
            raise NotFound("there is no such job", code="job_not_found")
        return JobCosts(
            job_id=job_id,
            entries=entries,
            total_millipaise=sum(t.cost_millipaise for t in by_stage),
            by_stage=by_stage,
            by_provider=by_provider,
        )

    async def summary(self, start: date, end: date, group_by: str) -> CostSummary:
        if end < start or (end - start).days > MAX_RANGE_DAYS:
            raise ValidationFailed(
                f"the range runs forwards and spans at most {MAX_RANGE_DAYS} days",
                code="range_out_of_bounds",
                errors=[FieldError("to", f"on or after from, at most {MAX_RANGE_DAYS} days")],
            )
        begin = datetime.combine(start, time(), tzinfo=UTC)
        until = datetime.combine(end + timedelta(days=1), time(), tzinfo=UTC)
        async with self._uow() as uow:
            groups = await uow.pipeline_cost_ledger.totals(group_by, begin, until, None)
        return CostSummary(
            date_from=start,
            date_to=end,
            group_by=group_by,
            total_millipaise=sum(g.cost_millipaise for g in groups),
            groups=groups,
        )
