"""Use cases of the job ledger: enqueue, begin/finish a delivery, retry, release due runs."""

from __future__ import annotations

import logging
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import msgspec

from mas.core.platform.errors import Conflict, NotFound
from mas.core.platform.ids import uuid7
from mas.core.platform.job_model import TERMINAL, JobFilter, JobRun, JobStatus, RetryPolicy
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.tasks import TaskQueue
from mas.core.platform.ports.uow import (
    DuplicateKey,
    JobRunClaims,
    PlatformUnitOfWork,
    UnitOfWorkFactory,
)
from mas.core.platform.tasking import Task

log = logging.getLogger("mas.jobs")

M = TypeVar("M", bound=msgspec.Struct)


@dataclass(frozen=True)
class Claim:
    run: JobRun | None
    busy_until: datetime | None = None


class JobService:
    """``claims``: the ledger's hot path (one statement per claim or success, shared among
    concurrent deliveries). Whatever it does not settle goes the per-run way through ``uow``."""

    def __init__(
        self,
        uow: UnitOfWorkFactory[PlatformUnitOfWork],
        queue: TaskQueue,
        clock: Clock,
        policies: dict[str, RetryPolicy],
        rng: random.Random | None = None,
        claims: JobRunClaims | None = None,
    ) -> None:
        self._uow = uow
        self._queue = queue
        self._clock = clock
        self._policies = policies
        self._rng = rng or random.Random()
        self._claims = claims

    def policy(self, task: str) -> RetryPolicy:
        try:
            return self._policies[task]
        except KeyError:
            raise NotFound(f"no task named '{task}' is registered", code="unknown_task") from None

    async def submit(
        self,
        task: Task[M],
        message: M,
        *,
        key: str | None = None,
        delay: timedelta | None = None,
    ) -> JobRun:
        """Enqueue a declared task: its arguments are the message, its key the task's key of
        the message unless ``key`` names another."""
        return await self.enqueue(
            task.name, task.args(message), key=key or task.key_of(message), delay=delay
        )

    async def enqueue(
        self,
        task: str,
        args: dict[str, Any] | None = None,
        *,
        key: str | None = None,
        delay: timedelta | None = None,
    ) -> JobRun:
        """Record a run and send it. A key already held by a run gives a ``skipped`` row."""
        policy = self.policy(task)
        now = self._clock.now()
        run_id = uuid7()
        run = JobRun(
            id=run_id,
            task=task,
            idempotency_key=key or str(run_id),
            status=JobStatus.QUEUED,
            args=args or {},
            attempts=0,
            max_attempts=policy.max_attempts,
            enqueued_at=now,
        )
        try:
            async with self._uow() as uow:
                await uow.jobs.add(run)
                if delay is not None and delay > timedelta(0):
                    await uow.jobs.schedule(run.id, task, now + delay)
                await uow.commit()
        except DuplicateKey:
            return await self._record_duplicate(run)
        if delay is None or delay <= timedelta(0):
            await self._queue.send(task, run.id)
        return run

    async def _record_duplicate(self, run: JobRun) -> JobRun:
        async with self._uow() as uow:
            holder = await uow.jobs.find_active(run.task, run.idempotency_key)
            run.status = JobStatus.SKIPPED
            run.duplicate_of = holder.id if holder else None
            run.finished_at = self._clock.now()
            await uow.jobs.add(run)
            await uow.commit()
        log.info(
            "job.skipped_duplicate",
            extra={"task": run.task, "key": run.idempotency_key, "run_id": str(run.id)},
        )
        return run

    async def begin(self, run_id: uuid.UUID, task: str | None = None) -> Claim:
        """Claim a delivery of ``run_id``; the claim is committed before this returns.

        ``Claim.run`` is the run to execute, or None when there is nothing to do (it finished,
        or it does not exist). ``Claim.busy_until`` is set when another delivery holds a live
        lease: the caller waits until then and asks again, so a run whose worker died is taken
        over once the lease lapses, and a live one is never run twice at once.

        ``task`` (the task the delivery names) decides the lease up front, so the common case is
        one conditional write on the hot path; anything else is read first and explained.
        """
        if task is not None and self._claims is not None:
            claimed = await self._claims.claim(run_id, self.policy(task).timeout_s)
            if claimed is not None:
                return Claim(claimed)
        async with self._uow() as uow:
            run = await uow.jobs.get(run_id)
            if run is None:
                log.warning("job.unknown_run", extra={"run_id": str(run_id)})
                return Claim(None)
            now = self._clock.now()
            if run.status in TERMINAL:
                log.info(
                    "job.duplicate_delivery",
                    extra={"run_id": str(run_id), "status": run.status.value},
                )
                return Claim(None)
            if run.holds_lease(now):
                return Claim(None, busy_until=run.lease_until)
            run.start(now, self.policy(run.task).timeout_s)
            if not await uow.jobs.save(run):
                # Another delivery claimed it between our read and write: ask again.
                return Claim(None, busy_until=now)
            await uow.commit()
            return Claim(run)

    async def succeed(self, run_id: uuid.UUID) -> None:
        """Record the success of a running run, committed before this returns."""
        if self._claims is not None and await self._claims.succeed(run_id):
            return
        # Not running (or no hot path): the per-run path raises the error that says why.
        async with self._uow() as uow:
            run = await self._load(uow, run_id)
            run.succeed(self._clock.now())
            await self._save(uow, run)
            await uow.commit()

    async def fail(self, run_id: uuid.UUID, error: str, *, retryable: bool = True) -> JobRun:
        """Record a failed attempt and schedule the next one with backoff, or mark it dead."""
        async with self._uow() as uow:
            run = await self._load(uow, run_id)
            now = self._clock.now()
            next_at = None
            if retryable and run.attempts < run.max_attempts:
                next_at = now + self.policy(run.task).delay_after(run.attempts, self._rng)
            run.fail(now, error, next_at)
            await self._save(uow, run)
            if run.next_attempt_at is not None:
                await uow.jobs.schedule(run.id, run.task, run.next_attempt_at)
            await uow.commit()
        log.warning(
            "job.failed",
            extra={
                "task": run.task,
                "run_id": str(run.id),
                "attempt": run.attempts,
                "status": run.status.value,
                "error": error[:200],
            },
        )
        return run

    async def retry(self, run_id: uuid.UUID) -> JobRun:
        """An operator's retry of a dead or waiting run: it runs again now."""
        async with self._uow() as uow:
            run = await self._load(uow, run_id)
            if run.status not in (JobStatus.DEAD, JobStatus.FAILED):
                raise Conflict(
                    f"only dead or failed runs can be retried; this one is {run.status.value}",
                    code="job_not_retryable",
                )
            # The sending process may not declare the task (a CLI retry of a plugin task): the
            # run then gets as many tries again as it had in all.
            policy = self._policies.get(run.task)
            run.requeue(policy.max_attempts if policy else run.max_attempts)
            await self._save(uow, run)
            await uow.commit()
        await self._queue.send(run.task, run.id)
        return run

    async def release_due(self, limit: int = 200) -> int:
        """Send every "run at" row that is due; returns how many were sent.

        Claim and commit first, send, then delete: no transaction stays open while a task runs
        (the in-memory broker runs it inline), and a crash between the steps re-sends after the
        claim lapses, which the ledger turns into a no-op.
        """
        async with self._uow() as uow:
            due = await uow.jobs.claim_due(self._clock.now(), limit)
            await uow.commit()
        if not due:
            return 0
        for _claim_id, run_id, task in due:
            await self._queue.send(task, run_id)
        async with self._uow() as uow:
            await uow.jobs.release_claimed([claim_id for claim_id, _run, _task in due])
            await uow.commit()
        return len(due)

    async def reap_stuck(self, limit: int = 200) -> int:
        """Runs whose worker vanished (lease lapsed) count as a failed attempt; runs whose
        delivery was lost (queued for ten minutes) are sent again — a copy is harmless."""
        now = self._clock.now()
        async with self._uow() as uow:
            stale = await uow.jobs.stale_running(now, limit)
            lost = await uow.jobs.stale_queued(now - timedelta(minutes=10), limit)
        for run in stale:
            await self.fail(run.id, "worker lost: the run outlived its lease")
        for run in lost:
            await self._queue.send(run.task, run.id)
        return len(stale) + len(lost)

    async def get(self, run_id: uuid.UUID) -> JobRun:
        async with self._uow() as uow:
            return await self._load(uow, run_id)

    async def page(self, flt: JobFilter, req: PageRequest) -> Page[JobRun]:
        async with self._uow() as uow:
            return await uow.jobs.page(flt, req)

    @staticmethod
    async def _save(uow: Any, run: JobRun) -> None:
        if not await uow.jobs.save(run):
            raise Conflict(f"job run {run.id} was changed by another process", code="job_changed")

    @staticmethod
    async def _load(uow: Any, run_id: uuid.UUID) -> JobRun:
        run: JobRun | None = await uow.jobs.get(run_id)
        if run is None:
            raise NotFound(f"job run {run_id} does not exist", code="job_not_found")
        return run
