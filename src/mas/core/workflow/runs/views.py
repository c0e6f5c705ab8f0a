"""What a person reads of a workflow's runs (workflow.md §7): its enrollments (filtered, paged),
one enrollment with its node runs and its path through the graph, and the workflow's counters.

The path is derived from the node runs, never stored: in start order, consecutive attempts at
one node are one step (its last attempt's status, how many attempts), and a branch's step names
the handle its run took (``output["handle"]``, written by the engine).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

import msgspec

from mas.core.platform.errors import FieldError, NotFound, ValidationFailed
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.uow import UnitOfWork, UnitOfWorkFactory
from mas.core.workflow.model import EnrollmentStatus, NodeRunStatus
from mas.core.workflow.runs.intake import WorkflowLookup
from mas.core.workflow.runs.model import Enrollment, NodeRun

HANDLE_KEY = "handle"


class EnrollmentFilter(msgspec.Struct, frozen=True, kw_only=True):
    status: EnrollmentStatus | None = None
    lead_id: uuid.UUID | None = None
    started_from: datetime | None = None
    started_to: datetime | None = None

    def __post_init__(self) -> None:
        for name in ("started_from", "started_to"):
            moment = getattr(self, name)
            if moment is not None and moment.tzinfo is None:
                message = "is an ISO 8601 time with a UTC offset"
                raise ValidationFailed(
                    f"{name} {message}", code="bad_window", errors=[FieldError(name, message)]
                )
        if (
            self.started_from is not None
            and self.started_to is not None
            and self.started_from > self.started_to
        ):
            message = "must not be after started_to"
            raise ValidationFailed(
                f"started_from {message}",
                code="bad_window",
                errors=[FieldError("started_from", message)],
            )


class PathStep(msgspec.Struct, frozen=True, kw_only=True):
    node_id: str
    node_type: str
    status: NodeRunStatus
    attempts: int
    handle: str | None = None
    """The edge a branch took (``yes``/``no``)."""
    started_at: datetime
    finished_at: datetime | None = None


class NodeRunView(NodeRun, kw_only=True):
    duration_ms: int | None = None


class EnrollmentDetail(msgspec.Struct, frozen=True, kw_only=True):
    enrollment: Enrollment
    node_runs: list[NodeRunView]
    path: list[PathStep]


class NodeStats(msgspec.Struct, kw_only=True):
    reached: int = 0
    """Enrollments that ran the node at least once."""
    succeeded: int = 0
    skipped: int = 0
    failed: int = 0
    waiting: int = 0
    running: int = 0


class WorkflowStats(msgspec.Struct, kw_only=True):
    workflow_id: uuid.UUID
    enrolled: int = 0
    active: int = 0
    waiting: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0
    exited: int = 0
    exited_by_reason: dict[str, int] = {}
    nodes: dict[str, NodeStats] = {}
    """Per node id: node runs by status (every attempt counted), and enrollments reaching it."""
    branches: dict[str, dict[str, int]] = {}
    """Per branch node id: how many runs took each handle."""


class RunTallies(msgspec.Struct, frozen=True, kw_only=True):
    """The raw aggregates the stats are built from (one grouped query each)."""

    by_status: dict[str, int]
    exits: dict[str, int]
    runs: list[tuple[str, str, int]]
    """(node id, node run status, count)."""
    reached: dict[str, int]
    handles: list[tuple[str, str, int]]
    """(node id, handle, count)."""


class HistoryRepository(Protocol):
    """``uow.workflow_history``: the read side of the runs tables."""

    async def page(
        self, workflow_id: uuid.UUID, flt: EnrollmentFilter, req: PageRequest
    ) -> Page[Enrollment]: ...

    async def tallies(self, workflow_id: uuid.UUID) -> RunTallies: ...


class EnrollmentReader(Protocol):
    """The engine's ``workflow_enrollments``, as far as the views read it."""

    async def get(self, enrollment_id: uuid.UUID) -> Enrollment | None: ...

    async def node_runs(self, enrollment_id: uuid.UUID) -> list[NodeRun]: ...


class ViewsUnitOfWork(UnitOfWork, Protocol):
    workflows: WorkflowLookup
    workflow_enrollments: EnrollmentReader
    workflow_history: HistoryRepository


def _duration(run: NodeRun) -> int | None:
    if run.finished_at is None:
        return None
    return int((run.finished_at - run.started_at).total_seconds() * 1000)


def path_of(runs: Sequence[NodeRun]) -> list[PathStep]:
    """The enrollment's way through the graph (see the module)."""
    ordered = sorted(runs, key=lambda run: (run.started_at, run.attempt))
    steps: list[PathStep] = []
    for run in ordered:
        handle = (run.output or {}).get(HANDLE_KEY)
        step = PathStep(
            node_id=run.node_id,
            node_type=run.node_type,
            status=run.status,
            attempts=1,
            handle=handle if isinstance(handle, str) else None,
            started_at=run.started_at,
            finished_at=run.finished_at,
        )
        if steps and steps[-1].node_id == run.node_id:
            step = msgspec.structs.replace(
                step, attempts=steps[-1].attempts + 1, started_at=steps[-1].started_at
            )
            steps[-1] = step
        else:
            steps.append(step)
    return steps


def stats_of(workflow_id: uuid.UUID, tallies: RunTallies) -> WorkflowStats:
    by_status = tallies.by_status
    nodes: dict[str, NodeStats] = {}
    for node_id, status, count in tallies.runs:
        node = nodes.setdefault(node_id, NodeStats())
        name = status.lower()
        if hasattr(node, name):
            setattr(node, name, getattr(node, name) + count)
    for node_id, count in tallies.reached.items():
        nodes.setdefault(node_id, NodeStats()).reached = count
    branches: dict[str, dict[str, int]] = {}
    for node_id, handle, count in tallies.handles:
        branches.setdefault(node_id, {})[handle] = count
    return WorkflowStats(
        workflow_id=workflow_id,
        enrolled=sum(by_status.values()),
        active=by_status.get(EnrollmentStatus.ACTIVE, 0),
        waiting=by_status.get(EnrollmentStatus.WAITING, 0),
        completed=by_status.get(EnrollmentStatus.COMPLETED, 0),
        failed=by_status.get(EnrollmentStatus.FAILED, 0),
        cancelled=by_status.get(EnrollmentStatus.CANCELLED, 0),
        exited=by_status.get(EnrollmentStatus.EXITED, 0),
        exited_by_reason=dict(tallies.exits),
        nodes=nodes,
        branches=branches,
    )


class History:
    def __init__(self, *, uow: UnitOfWorkFactory[ViewsUnitOfWork]) -> None:
        self._uow = uow

    async def _workflow_exists(self, uow: ViewsUnitOfWork, workflow_id: uuid.UUID) -> None:
        if await uow.workflows.get(workflow_id) is None:
            raise NotFound("workflow not found", code="workflow_not_found")

    async def enrollments(
        self, workflow_id: uuid.UUID, flt: EnrollmentFilter, req: PageRequest
    ) -> Page[Enrollment]:
        async with self._uow() as uow:
            await self._workflow_exists(uow, workflow_id)
            return await uow.workflow_history.page(workflow_id, flt, req)

    async def detail(self, enrollment_id: uuid.UUID) -> EnrollmentDetail:
        async with self._uow() as uow:
            enrollment = await uow.workflow_enrollments.get(enrollment_id)
            if enrollment is None:
                raise NotFound("enrollment not found", code="enrollment_not_found")
            runs = await uow.workflow_enrollments.node_runs(enrollment_id)
        views = [
            NodeRunView(**msgspec.structs.asdict(run), duration_ms=_duration(run)) for run in runs
        ]
        return EnrollmentDetail(enrollment=enrollment, node_runs=views, path=path_of(runs))

    async def stats(self, workflow_id: uuid.UUID) -> WorkflowStats:
        async with self._uow() as uow:
            await self._workflow_exists(uow, workflow_id)
            tallies = await uow.workflow_history.tallies(workflow_id)
        return stats_of(workflow_id, tallies)
