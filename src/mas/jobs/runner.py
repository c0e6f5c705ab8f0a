"""The task runner: every declared task registered on the broker, each delivery run through
the job ledger (or, for a task that keeps its own, straight from the message).

A message carries only the run id; the arguments live on the ``job_runs`` row and are decoded
into the task's message Struct. The wrapper claims the run (``JobService.begin``), runs the
handler with its domain's services under the task's timeout and records the outcome. Whether a
failure is retried is decided by its type (``mas.core.platform.tasking.is_permanent``).

A ledger-less task (``Task.ledger=False``, e.g. ``workflow.step``: the enrollment row is its
ledger) is registered as a function of the payload itself (``run_message``): no ``job_runs``
row is read or written. The message is decoded into the task's Struct and the handler runs under
the task's timeout; a failure is logged, never retried here. On JetStream the message is still
acknowledged only after the run returns, so a worker killed mid-run leaves it to redelivery.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

import msgspec
from taskiq import AsyncBroker

from mas.adapters.telemetry import metrics, tracing
from mas.core.platform.job_model import JobRun, JobStatus
from mas.core.platform.tasking import is_permanent
from mas.modules.container import BoundHandler, Container

log = logging.getLogger("mas.jobs")


async def execute(c: Container, bound: BoundHandler, run_id: str) -> None:
    """Run one delivery of ``run_id`` through the ledger."""
    handler = bound.handler
    policy = handler.task.policy
    run = await _claim(c, uuid.UUID(run_id), handler.name, policy.timeout_s)
    if run is None:
        return
    if run.attempts == 1:
        lag = (c.clock.now() - run.enqueued_at).total_seconds()
        metrics.job_started(handler.name, lag)
    with tracing.task_span(handler.name, run_id=run_id, attempt=run.attempts) as span:
        status = await _run(c, bound, run)
        if span is not None:
            span.set_attribute("mas.job_status", status)
    metrics.job_finished(handler.name, status)


async def _run(c: Container, bound: BoundHandler, run: JobRun) -> str:
    """Run the claimed ``run`` and record its outcome; the outcome's name."""
    handler = bound.handler
    policy = handler.task.policy
    run_id = str(run.id)
    context = {"task": handler.name, "run_id": run_id, "attempt": run.attempts}
    log.debug("job.started", extra=context)  # one line per run at INFO: its outcome
    try:
        message = handler.task.decode(run.args)
    except msgspec.ValidationError as exc:
        await c.jobs.fail(run.id, f"bad arguments: {exc}", retryable=False)
        return JobStatus.DEAD.value
    retryable = True
    try:
        async with asyncio.timeout(policy.timeout_s):
            await handler.run(bound.services, message)
    except TimeoutError:
        error = f"timed out after {policy.timeout_s:g} s"
    except Exception as exc:  # noqa: BLE001 - the runner's boundary: record, then retry or die
        retryable = not is_permanent(exc)
        if retryable:
            log.exception("job.error", extra=context)
        else:
            log.warning("job.failed_for_good", extra={**context, "error": str(exc)})
        error = f"{type(exc).__name__}: {exc}"
    else:
        await c.jobs.succeed(run.id)
        log.info("job.succeeded", extra=context)
        return JobStatus.SUCCEEDED.value
    failed = await c.jobs.fail(run.id, error, retryable=retryable)
    if failed.status is JobStatus.DEAD and handler.on_dead is not None:
        await handler.on_dead(bound.services, message)
    return failed.status.value


async def _claim(c: Container, run_id: uuid.UUID, task: str, timeout_s: float) -> JobRun | None:
    """Claim the run, waiting while another delivery holds its lease (at most its timeout)."""
    deadline = asyncio.get_running_loop().time() + timeout_s + 5
    while True:
        claim = await c.jobs.begin(run_id, task)
        if claim.busy_until is None:
            return claim.run
        if asyncio.get_running_loop().time() > deadline:
            log.warning("job.lease_wait_gave_up", extra={"run_id": str(run_id)})
            return None
        wait = (claim.busy_until - c.clock.now()).total_seconds()
        await asyncio.sleep(min(max(wait, 0.05), 5.0))


async def run_message(bound: BoundHandler, args: Any) -> None:
    """Run one delivery of a ledger-less task from its payload (decode, run, log a failure)."""
    with tracing.task_span(bound.handler.name) as span:
        status = await _run_message(bound, args)
        if span is not None:
            span.set_attribute("mas.job_status", status)
    metrics.job_finished(bound.handler.name, status)


async def _run_message(bound: BoundHandler, args: Any) -> str:
    handler = bound.handler
    policy = handler.task.policy
    try:
        message = handler.task.decode(args)
    except (msgspec.ValidationError, TypeError) as exc:
        log.warning("job.bad_message", extra={"task": handler.name, "error": str(exc)[:500]})
        return "bad_message"
    try:
        async with asyncio.timeout(policy.timeout_s):
            await handler.run(bound.services, message)
    except TimeoutError:
        log.warning("job.timed_out", extra={"task": handler.name, "timeout_s": policy.timeout_s})
        return "timed_out"
    except Exception:  # noqa: BLE001 - the runner's boundary: the task's own ledger retries
        log.exception("job.error", extra={"task": handler.name, "payload": str(args)[:500]})
        return "error"
    return JobStatus.SUCCEEDED.value


def register_all(broker: AsyncBroker, c: Container) -> None:
    """Register every declared task on ``broker``, bound to ``c`` (no process-global state)."""
    for name, bound in c.tasks.items():
        if broker.find_task(name) is not None:
            continue
        timeout = bound.handler.task.policy.timeout_s
        if not bound.handler.task.ledger:

            async def run_payload(payload: Any, _bound: BoundHandler = bound) -> None:
                await run_message(_bound, payload)

            broker.register_task(run_payload, task_name=name, timeout=timeout)
            continue

        async def run(run_id: str, _bound: BoundHandler = bound) -> None:
            await execute(c, _bound, run_id)

        broker.register_task(run, task_name=name, timeout=timeout)
