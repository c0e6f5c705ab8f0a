"""The task registry: ``@task`` declares a task with its retry policy; the ledger wraps each run.

A message carries only the run id; the arguments live on the ``job_runs`` row. The wrapper
claims the run (``JobService.begin``), runs the body under the task's timeout and records the
outcome. Arguments are ids and plain values, never objects.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from taskiq import AsyncBroker

from mas.core.platform.job_model import JobRun, JobStatus, RetryPolicy
from mas.jobs import runtime

if TYPE_CHECKING:
    from mas.bootstrap import Container

log = logging.getLogger("mas.jobs")

TaskBody = Callable[..., Awaitable[None]]


class PermanentFailure(Exception):
    """Raised by a task body when retrying cannot help: the run goes straight to ``dead``."""


@dataclass(frozen=True)
class TaskSpec:
    name: str
    body: TaskBody
    policy: RetryPolicy
    on_dead: TaskBody | None = None
    summary: str = ""


TASKS: dict[str, TaskSpec] = {}
POLICIES: dict[str, RetryPolicy] = {}  # shared with JobService: later imports stay visible


def task(
    name: str,
    *,
    attempts: int = 3,
    backoff_s: float = 30.0,
    max_backoff_s: float = 3600.0,
    timeout_s: float = 300.0,
    on_dead: TaskBody | None = None,
) -> Callable[[TaskBody], TaskBody]:
    """Declare task ``name`` (``<domain>.<action>``); body: ``async def f(c, **args)``."""

    def register(body: TaskBody) -> TaskBody:
        if name in TASKS and TASKS[name].body is not body:
            raise ValueError(f"task {name} is declared twice")
        policy = RetryPolicy(
            max_attempts=attempts,
            base_delay_s=backoff_s,
            max_delay_s=max_backoff_s,
            timeout_s=timeout_s,
        )
        summary = (body.__doc__ or "").strip().splitlines()[0] if body.__doc__ else ""
        TASKS[name] = TaskSpec(name, body, policy, on_dead, summary)
        POLICIES[name] = policy
        return body

    return register


def timeout_for(name: str) -> float:
    spec = TASKS.get(name)
    return spec.policy.timeout_s if spec else 300.0


async def execute(spec: TaskSpec, run_id: str) -> None:
    """Run one delivery of ``run_id`` through the ledger."""
    container = runtime.current()
    run = await _claim(container, uuid.UUID(run_id), spec)
    if run is None:
        return
    context = {"task": spec.name, "run_id": run_id, "attempt": run.attempts}
    log.debug("job.started", extra=context)  # one line per run at INFO: its outcome
    retryable = True
    try:
        async with asyncio.timeout(spec.policy.timeout_s):
            await spec.body(container, **run.args)
    except PermanentFailure as exc:
        retryable = False
        error = f"PermanentFailure: {exc}"
    except TimeoutError:
        error = f"timed out after {spec.policy.timeout_s:g} s"
    except Exception as exc:  # noqa: BLE001 - the runner's boundary: record, then retry or die
        log.exception("job.error", extra=context)
        error = f"{type(exc).__name__}: {exc}"
    else:
        await container.jobs.succeed(run.id)
        log.info("job.succeeded", extra=context)
        return
    failed = await container.jobs.fail(run.id, error, retryable=retryable)
    if failed.status is JobStatus.DEAD and spec.on_dead is not None:
        await spec.on_dead(container, **run.args)


async def _claim(container: Container, run_id: uuid.UUID, spec: TaskSpec) -> JobRun | None:
    """Claim the run, waiting while another delivery holds its lease (at most its timeout)."""
    deadline = asyncio.get_running_loop().time() + spec.policy.timeout_s + 5
    while True:
        claim = await container.jobs.begin(run_id, spec.name)
        if claim.busy_until is None:
            return claim.run
        if asyncio.get_running_loop().time() > deadline:
            log.warning("job.lease_wait_gave_up", extra={"run_id": str(run_id)})
            return None
        wait = (claim.busy_until - container.clock.now()).total_seconds()
        await asyncio.sleep(min(max(wait, 0.05), 5.0))


def register_all(broker: AsyncBroker) -> None:
    """Register every declared task on ``broker`` (call after importing the task modules)."""
    for spec in TASKS.values():
        if broker.find_task(spec.name) is not None:
            continue

        async def handler(run_id: str, _spec: TaskSpec = spec) -> None:
            await execute(_spec, run_id)

        broker.register_task(handler, task_name=spec.name, timeout=spec.policy.timeout_s)


def load_task_modules(extra: list[str] | None = None) -> None:
    """Import the modules that declare tasks (and any ``extra`` ones, e.g. test probes)."""
    import importlib

    from mas.jobs import (
        crm_assignment,  # noqa: F401 - assignment, approvals, targets
        crm_imports,  # noqa: F401 - CSV imports, vendor pulls
        crm_leads,  # noqa: F401 - lead lifecycle tasks
        tasks,  # noqa: F401 - importing registers the platform tasks
    )

    for module in extra or []:
        importlib.import_module(module)


def describe() -> list[dict[str, Any]]:
    return [
        {
            "task": spec.name,
            "attempts": spec.policy.max_attempts,
            "backoff_s": spec.policy.base_delay_s,
            "timeout_s": spec.policy.timeout_s,
            "summary": spec.summary,
        }
        for spec in sorted(TASKS.values(), key=lambda s: s.name)
    ]
