"""The ledger's hot path (``JobRunClaims``): concurrent claims and successes share statements.

A worker runs many deliveries at once; each wants its run claimed before the body runs and its
success recorded before the message is acknowledged. Done one unit of work at a time, that is
two transactions (eight round trips) per task. Here the requests waiting at the same moment go
together: one conditional ``UPDATE … RETURNING`` (``repos.jobs.claim_runs`` / ``succeed_runs``;
for claims, one per task timeout in the batch) in autocommit, so the statement is its own
transaction and returns only once committed; then every caller gets its answer.

A batch starts on the next turn of the event loop unless ``max_inflight`` batches are running;
what arrives meanwhile forms the next one. An idle worker waits for nobody, a busy one pays one
round trip for many runs. A batch that fails (a deadlock, a bad value) is retried one request
at a time, so one caller's error stays that caller's.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from mas.adapters.db.platform.jobs import claim_runs, succeed_runs
from mas.core.platform.job_model import JobRun, lease_expiry
from mas.core.platform.ports.clock import Clock

log = logging.getLogger("mas.jobs")

T = TypeVar("T")
R = TypeVar("R")


class _Batches(Generic[T, R]):
    """Collect requests; ``execute`` them up to ``max_size`` at a time; answer each caller."""

    def __init__(
        self,
        name: str,
        execute: Callable[[list[T]], Awaitable[list[R]]],
        max_size: int,
        max_inflight: int,
    ) -> None:
        self._name = name
        self._execute = execute
        self._max_size = max_size
        self._max_inflight = max_inflight
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._gathering: asyncio.Task[None] | None = None  # started, has not taken its requests

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        self._start()
        return await future

    def _start(self) -> None:
        if self._pending and self._gathering is None and len(self._tasks) < self._max_inflight:
            task = asyncio.get_running_loop().create_task(self._run())
            self._gathering = task
            self._tasks.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if self._gathering is task:  # cancelled before it ran
            self._gathering = None
        self._start()

    async def _run(self) -> None:
        # Started on the next turn of the loop: every request made in this one joins the batch.
        self._gathering = None
        batch = self._pending[: self._max_size]
        del self._pending[: self._max_size]
        self._start()
        try:
            await self._execute_batch(batch)
        finally:
            for _, future in batch:  # cancelled midway: nobody waits forever
                if not future.done():
                    future.cancel()

    async def _execute_batch(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._execute([item for item, _ in batch])
        except Exception as exc:  # noqa: BLE001 - retried one by one, each caller gets its own
            if len(batch) == 1:
                _answer(batch[0][1], error=exc)
                return
            log.warning(
                "ledger.batch_failed",
                extra={"batch": self._name, "size": len(batch), "error": repr(exc)[:200]},
            )
            for item, future in batch:
                try:
                    (result,) = await self._execute([item])
                except Exception as one:  # noqa: BLE001 - handed to its caller
                    _answer(future, error=one)
                else:
                    _answer(future, result)
            return
        for (_, future), result in zip(batch, results, strict=True):
            _answer(future, result)

    async def drain(self) -> None:
        """Wait until every request made so far is answered."""
        while self._tasks or self._pending:
            self._start()
            await asyncio.gather(*self._tasks, return_exceptions=True)


def _answer(
    future: asyncio.Future[R], result: R | None = None, error: Exception | None = None
) -> None:
    if future.done():  # its caller was cancelled; the outcome stays in the ledger
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)  # type: ignore[arg-type]


class BatchedJobRunClaims:
    """``JobRunClaims`` on SQLAlchemy Core, shared among the concurrent callers of one process."""

    def __init__(
        self,
        engine: AsyncEngine,
        clock: Clock,
        *,
        max_batch: int = 128,
        max_inflight: int = 1,
    ) -> None:
        self._engine = engine
        # A lone statement is its own transaction: it returns once committed, in one round trip.
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._clock = clock
        self._claims: _Batches[tuple[uuid.UUID, float], JobRun | None] = _Batches(
            "claim", self._claim_batch, max_batch, max_inflight
        )
        self._successes: _Batches[uuid.UUID, bool] = _Batches(
            "succeed", self._succeed_batch, max_batch, max_inflight
        )

    async def claim(self, run_id: uuid.UUID, timeout_s: float) -> JobRun | None:
        return await self._claims.submit((run_id, timeout_s))

    async def succeed(self, run_id: uuid.UUID) -> bool:
        return await self._successes.submit(run_id)

    async def close(self) -> None:
        await self._claims.drain()
        await self._successes.drain()

    async def _claim_batch(self, requests: list[tuple[uuid.UUID, float]]) -> list[JobRun | None]:
        now = self._clock.now()
        by_timeout: dict[float, list[uuid.UUID]] = {}
        for run_id, timeout_s in requests:
            by_timeout.setdefault(timeout_s, []).append(run_id)
        claimed: dict[uuid.UUID, JobRun] = {}
        # Several statements share one transaction: a failed batch then claimed nothing, and
        # its requests can be retried one by one.
        opened = self._autocommit.connect() if len(by_timeout) == 1 else self._engine.begin()
        async with opened as conn:
            for timeout_s, run_ids in by_timeout.items():
                claimed.update(await claim_runs(conn, run_ids, now, lease_expiry(now, timeout_s)))
        # A run asked for twice in one batch was claimed once: the later request is told no
        # (and finds the lease held when it asks why).
        return [claimed.pop(run_id, None) for run_id, _ in requests]

    async def _succeed_batch(self, run_ids: list[uuid.UUID]) -> list[bool]:
        now = self._clock.now()
        async with self._autocommit.connect() as conn:
            done = await succeed_runs(conn, run_ids, now)
        answers = []
        for run_id in run_ids:
            answers.append(run_id in done)
            done.discard(run_id)
        return answers
