"""Workflow: the runs part. Built by its manifest part, ``mas.modules.workflow.runs``.

Exports the part's services (``RunsServices``), what builds them (``RunsPorts``,
``build_runs``) and its tasks (``HANDLERS``, ``CRONS``, ``SUBSCRIPTIONS``: handlers take
the part's services; ``mas.core.workflow.handlers`` binds them to the domain's).

The engine (``engine.Engine``) runs one node per ``workflow.step`` job; its timers are the
enrollments' ``next_run_at``, released by every worker's release loop (``release_due``, a
``Module.releasers`` entry of the manifest) and re-driven by the ``workflow.sweeper`` cron.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from mas.core.platform.events import Subscription
from mas.core.platform.ports.ai_calls import AiCallCompleted, AiCaller
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.messenger import Messenger
from mas.core.platform.ports.tasks import TaskQueue
from mas.core.platform.ports.uow import UnitOfWorkFactory
from mas.core.platform.tasking import Handler, NoArgs, Task
from mas.core.workflow.runs import intake_tasks
from mas.core.workflow.runs.batching import StepBatcher
from mas.core.workflow.runs.engine import Engine
from mas.core.workflow.runs.intake import Intake, IntakeUnitOfWork
from mas.core.workflow.runs.model import StepRef
from mas.core.workflow.runs.nodes import NodeTools
from mas.core.workflow.runs.ports import EnrollmentRepository, RunsUnitOfWork
from mas.core.workflow.runs.simulate import LeadLookup, SimulationUnitOfWork, Simulator
from mas.core.workflow.runs.tasks import STEP, SWEEPER
from mas.core.workflow.runs.views import History, HistoryRepository, ViewsUnitOfWork


class RunsHistory(HistoryRepository, LeadLookup, Protocol):
    """``uow.workflow_history``: the views' reads and the simulation's lead."""


class RunsPartUnitOfWork(
    RunsUnitOfWork, IntakeUnitOfWork, ViewsUnitOfWork, SimulationUnitOfWork, Protocol
):
    """The part's unit of work: the engine's ledger, intake's and the views' repositories."""

    workflow_enrollments: EnrollmentRepository
    workflow_history: RunsHistory


@dataclass(frozen=True)
class RunsPorts:
    uow: UnitOfWorkFactory[RunsPartUnitOfWork]
    clock: Clock
    queue: TaskQueue
    messenger: Messenger
    ai_caller: AiCaller
    step_batch: int = 0
    """Steps per batch (``batching.StepBatcher``); 0: each step alone (the in-memory broker)."""
    step_linger_s: float = 0.02
    step_batches: int = 2
    """Batches running at once."""


@dataclass(frozen=True)
class RunsServices:
    engine: Engine
    ai_caller: AiCaller
    intake: Intake
    history: History
    simulator: Simulator
    run_step: Callable[[StepRef], Awaitable[None]]
    """A delivery's step: batched with its neighbours (``StepBatcher.submit``) or alone."""


def build_runs(ports: RunsPorts) -> RunsServices:
    engine = Engine(
        uow=ports.uow,
        clock=ports.clock,
        queue=ports.queue,
        tools=NodeTools(messenger=ports.messenger, ai_caller=ports.ai_caller),
    )
    run_step = engine.step
    if ports.step_batch > 1:
        run_step = StepBatcher(
            engine.step_batch,
            max_size=ports.step_batch,
            linger_s=ports.step_linger_s,
            max_inflight=ports.step_batches,
        ).submit
    return RunsServices(
        run_step=run_step,
        engine=engine,
        ai_caller=ports.ai_caller,
        intake=Intake(uow=ports.uow, clock=ports.clock, release=engine.release_due),
        history=History(uow=ports.uow),
        simulator=Simulator(uow=ports.uow),
    )


async def step(runs: RunsServices, ref: StepRef) -> None:
    """Run one node of one enrollment (a no-op for a stale or duplicate delivery)."""
    await runs.run_step(ref)


async def sweep(runs: RunsServices, _: NoArgs) -> None:
    """Re-drive enrollments whose step job was lost (WAITING late, ACTIVE idle)."""
    await runs.engine.sweep()


async def call_completed(runs: RunsServices, event: AiCallCompleted) -> None:
    await runs.engine.call_completed(event)


async def release_due(runs: RunsServices) -> int:
    return await runs.engine.release_due()


HANDLERS: Sequence[Handler[RunsServices, Any]] = (
    Handler(STEP, step),
    Handler(SWEEPER, sweep),
    Handler(intake_tasks.SCAN, intake_tasks.scan),
)
CRONS: Mapping[Task[Any], str] = {SWEEPER: "*/5 * * * *", intake_tasks.SCAN: "* * * * *"}
SUBSCRIPTIONS: Sequence[Subscription[RunsServices, Any]] = (
    Subscription(AiCallCompleted, call_completed),
    Subscription(intake_tasks.LeadCreatedSeen, intake_tasks.lead_created),
    Subscription(intake_tasks.LeadStatusChangedSeen, intake_tasks.lead_status_changed),
    Subscription(intake_tasks.LeadAssignedSeen, intake_tasks.lead_assigned),
    Subscription(intake_tasks.LeadDeletedSeen, intake_tasks.lead_deleted),
)
