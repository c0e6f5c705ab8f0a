"""Group commit for ``workflow.step`` deliveries: one transaction for many steps.

A worker runs many deliveries at once; alone, each is its own transaction of about seven round
trips, and the process spends its time in the driver rather than in the steps. Here the
deliveries of one process that arrive together wait a moment (``linger_s``, or until
``max_size`` have come) and run as one batch (``Engine.step_batch``): one locking read, the
nodes, one set-based write, one commit. Each delivery's task awaits its own step's result, so
its message is acknowledged only after the batch's commit; a crash before the commit leaves
every message of the batch to redelivery, and the enrollment rows' ``lock_version`` makes the
repeat a no-op for what did commit.

At most ``max_inflight`` batches run at once; what arrives meanwhile forms the next one, so a
busy worker's batches grow and an idle one's step waits for ``linger_s`` at most. Only a worker
on a real broker batches: the in-memory broker (the CLI, the tests, ``make run``) runs each
step as it comes (``Engine.step``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from mas.core.workflow.runs.model import StepRef

Waiter = asyncio.Future[BaseException | None]
"""A delivery's wait for its batch: the step's own error, or None."""
RunBatch = Callable[[Sequence[StepRef]], Awaitable[list[BaseException | None]]]


class StepBatcher:
    def __init__(
        self, run: RunBatch, *, max_size: int, linger_s: float, max_inflight: int = 2
    ) -> None:
        self._run = run
        self._max_size = max_size
        self._linger_s = linger_s
        self._max_inflight = max_inflight
        self._pending: list[tuple[StepRef, Waiter]] = []
        self._running: set[asyncio.Task[None]] = set()
        self._timer: asyncio.TimerHandle | None = None

    async def submit(self, ref: StepRef) -> None:
        """Run ``ref`` in the next batch; returns once that batch committed (or raises the
        step's own error)."""
        future: Waiter = asyncio.get_running_loop().create_future()
        self._pending.append((ref, future))
        self._schedule()
        error = await future
        if error is not None:
            raise error

    def _schedule(self) -> None:
        if not self._pending or len(self._running) >= self._max_inflight:
            return
        if len(self._pending) >= self._max_size:
            self._start()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._linger_s, self._start)

    def _start(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._pending or len(self._running) >= self._max_inflight:
            return
        batch = self._pending[: self._max_size]
        del self._pending[: self._max_size]
        task = asyncio.get_running_loop().create_task(self._execute(batch))
        self._running.add(task)
        task.add_done_callback(self._finished)
        self._schedule()

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._schedule()

    async def _execute(
        self, batch: list[tuple[StepRef, asyncio.Future[BaseException | None]]]
    ) -> None:
        futures = [future for _, future in batch]
        try:
            errors = await self._run([ref for ref, _ in batch])
        except asyncio.CancelledError:  # shutting down: no step of it is acknowledged
            for future in futures:
                future.cancel()
            raise
        except Exception as error:  # noqa: BLE001 - a bug in the batch path: each caller logs it
            for future in futures:
                if not future.done():
                    future.set_exception(error)
            return
        for future, outcome in zip(futures, errors, strict=True):
            if not future.done():  # its delivery timed out meanwhile
                future.set_result(outcome)
