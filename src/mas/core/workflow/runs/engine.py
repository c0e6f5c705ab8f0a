"""The step executor (workflow.md §6): one node per job, the enrollment row as the ledger.

A ``workflow.step`` message is ``StepRef(enrollment_id, node_id, lock_version)``. The step
locks the enrollment (one statement that also reads the workflow's status, exit statuses and
send window and the lead), and does nothing unless the enrollment is ACTIVE or WAITING (and
due), still at ``node_id`` and still at ``lock_version``: a duplicate or stale delivery is a
no-op. Then, in order: the pre-flight (lead deleted → EXITED ``lead_deleted``; lead status in
``exit_on_statuses`` → EXITED ``lead_status:<S>``; workflow ARCHIVED → CANCELLED; workflow
PAUSED → WAITING 15 min, nothing sent; a send outside the send window → WAITING until it opens,
no node run), the node itself, and one commit holding the node run, the enrollment's move
(``lock_version + 1``), a ``WORKFLOW_STEP`` line on the lead's journal, any lead change and the
messenger's rows. Only after the commit is the next step sent; a step lost between the commit
and the send (a crash, a broker outage) leaves the enrollment ACTIVE and idle, which the
sweeper re-drives.

On a worker (a real broker) the deliveries in flight together run as one batch
(``step_batch``, gathered by ``batching.StepBatcher``): one locking read of all their
enrollments, the nodes in turn (tag-only lead changes and the messenger's rows written
set-based), one write of all node runs, moves and journal lines, one commit, then the
follow-ups. A batch in which anything fails is rolled back and run again one step at a time
through ``step``, so failures are recorded exactly as below.

Waits never sleep in a process: a WAITING enrollment has ``next_run_at``, and ``release_due``
(called by every worker's release loop) claims due rows set-based and sends their steps. A
node that waits (``wait``, an ``ai_call`` that waits for its outcome) leaves its node run
WAITING; the step that resumes it (found by that WAITING run) ends the run SUCCEEDED and moves
on.

Failures: a ``Transient`` error (a provider outage, a timeout) fails the attempt's node run and
schedules the next attempt (``model.retry_delay``); any other ``DomainError`` fails the
enrollment at once. Both are recorded in a fresh transaction, the failed one's writes (a
half-queued message) rolled back. Anything else (a bug, the database gone) propagates: the
runner logs it and the sweeper re-drives the enrollment later.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from mas.core.platform.errors import DomainError, InvalidState, NotFound, Transient
from mas.core.platform.ids import uuid7
from mas.core.platform.ports.ai_calls import AiCallCompleted
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.tasks import TaskQueue
from mas.core.platform.ports.uow import UnitOfWorkFactory
from mas.core.platform.tasking import PermanentFailure
from mas.core.workflow.definitions.graph import (
    AiCallNode,
    Graph,
    Node,
    SendEmailNode,
    SendSmsNode,
    SendWhatsappNode,
    UpdateLeadNode,
    WaitNode,
    load_graph,
    node_type,
)
from mas.core.workflow.definitions.window import SendWindow, next_open
from mas.core.workflow.model import EnrollmentStatus, NodeRunStatus, WorkflowStatus
from mas.core.workflow.runs import nodes
from mas.core.workflow.runs.model import (
    PAUSE_DEFERRAL,
    SWEEP_ACTIVE_IDLE,
    SWEEP_WAITING_LATE,
    Enrollment,
    JournalLine,
    LeadChange,
    Move,
    NodeRun,
    RunEnd,
    StepRecord,
    StepRef,
    StepState,
    WaitingFor,
    retry_delay,
)
from mas.core.workflow.runs.ports import RunsUnitOfWork
from mas.core.workflow.runs.tasks import STEP

log = logging.getLogger("mas.workflow.engine")

SENDS = (SendEmailNode, SendWhatsappNode, SendSmsNode, AiCallNode)
"""Nodes that reach the lead: held back outside the send window."""
RESUMABLE = (WaitNode, AiCallNode)
DUE = frozenset({EnrollmentStatus.ACTIVE, EnrollmentStatus.WAITING})
GRAPH_CACHE_SIZE = 512
RELEASE_BATCH = 500
DEFAULT_ZONE = "Asia/Kolkata"


class NodeFailed(Exception):
    """A node's failure as the engine records it (wraps the provider's or domain's error)."""

    def __init__(self, error: BaseException, *, transient: bool) -> None:
        super().__init__(f"{type(error).__name__}: {error}")
        self.transient = transient


def classify(error: BaseException) -> bool | None:
    """True: transient; False: permanent; None: not a node failure (let it propagate)."""
    if isinstance(error, Transient | TimeoutError):
        return True
    if isinstance(error, DomainError | PermanentFailure):
        return False
    return None


def enrollment_not_found(enrollment_id: uuid.UUID) -> NotFound:
    return NotFound(f"no enrollment {enrollment_id}", code="enrollment_not_found")


@dataclass
class _Outcome:
    """What a step decided: the enrollment's move, its node run, a journal line."""

    move: Move
    run: NodeRun | None = None
    finish_waiting: tuple[str, dict[str, Any]] | None = None
    journal: str | None = None
    node_type: str | None = None


class Engine:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory[RunsUnitOfWork],
        clock: Clock,
        queue: TaskQueue,
        tools: nodes.NodeTools,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._queue = queue
        self._tools = tools
        self._graphs: dict[tuple[uuid.UUID, int], Graph] = {}

    # --- the step ---------------------------------------------------------------------------

    async def step(self, ref: StepRef) -> None:
        """Run one ``workflow.step`` delivery (a no-op for a stale or duplicate one)."""
        now = self._clock.now()
        try:
            async with self._uow() as uow:
                state = await uow.workflow_enrollments.load_step(ref.enrollment_id)
                if state is None or not _current(state.enrollment, ref, now):
                    return
                outcome = await self._decide(uow, state, now)
                await self._write(uow, state, outcome, now)
                await uow.commit()
        except NodeFailed as failed:
            recorded = await self._record_failure(ref, failed, now)
            if recorded is None:
                return
            outcome = recorded
        await self._follow(ref.enrollment_id, outcome.move, ref.lock_version + 1)

    async def step_batch(self, refs: Sequence[StepRef]) -> list[BaseException | None]:
        """Run concurrent deliveries together (``batching.StepBatcher``): one transaction for
        them all, the follow-up steps sent after its commit. Stale and duplicate refs are
        skipped as ``step`` skips them. If anything fails (a node, a lead change, a write),
        the batch is rolled back and each ref runs again through ``step``, so a failure is
        recorded exactly as a lone step records it and the others still commit. Returns each
        ref's error (None: done)."""
        now = self._clock.now()
        try:
            follow = await self._run_batch(refs, now)
        except Exception as error:  # noqa: BLE001 - each step again on its own, below
            log.warning(
                "workflow.batch_split",
                extra={"steps": len(refs), "error": repr(error)[:300]},
            )
            return [await _outcome_of(self.step(ref)) for ref in refs]
        await self._dispatch_together(follow)
        return [None] * len(refs)

    async def _run_batch(self, refs: Sequence[StepRef], now: datetime) -> list[StepRef]:
        records: list[StepRecord] = []
        follow: list[StepRef] = []
        tags: list[tuple[uuid.UUID, LeadChange]] = []
        async with self._uow() as uow:
            uow.hold_sends()
            repo = uow.workflow_enrollments
            states = await repo.load_steps(sorted({ref.enrollment_id for ref in refs}))
            for ref in refs:
                state = states.pop(ref.enrollment_id, None)  # a duplicate finds it gone
                if state is None or not _current(state.enrollment, ref, now):
                    continue
                outcome = await self._decide(uow, state, now, tags)
                records.append(_record(state.enrollment, outcome, now))
                move = outcome.move
                if move.status is EnrollmentStatus.ACTIVE and move.next_run_at is None:
                    follow.append(StepRef(ref.enrollment_id, move.node_id, ref.lock_version + 1))
            if tags:
                await uow.workflow_leads.apply_tags(tags, at=now)
            recorded = await repo.record_many(records, now)
            if recorded != len(records):
                raise PermanentFailure(f"{len(records) - recorded} enrollments moved under lock")
            await uow.commit()
        return follow

    async def _decide(
        self,
        uow: RunsUnitOfWork,
        state: StepState,
        now: datetime,
        tags: list[tuple[uuid.UUID, LeadChange]] | None = None,
    ) -> _Outcome:
        """``tags``: a batch's tag-only lead changes, left for one set-based write."""
        enrollment = state.enrollment
        lead = state.lead
        if lead is None:
            return _stop(enrollment, EnrollmentStatus.EXITED, "lead_deleted")
        if lead.status in state.exit_on_statuses:
            return _stop(enrollment, EnrollmentStatus.EXITED, f"lead_status:{lead.status}")
        if state.workflow_status == WorkflowStatus.ARCHIVED:
            return _stop(enrollment, EnrollmentStatus.CANCELLED, "workflow_archived")
        if state.workflow_status != WorkflowStatus.ACTIVE:
            return _defer(enrollment, WaitingFor.PAUSED, now + PAUSE_DEFERRAL)
        graph = await self._graph(uow, enrollment.workflow_id, enrollment.version)
        node = graph.nodes.get(enrollment.current_node_id)
        if node is None:
            raise NodeFailed(
                PermanentFailure(f"node {enrollment.current_node_id!r} is not in the graph"),
                transient=False,
            )
        window = _window(state.send_window)
        step = nodes.StepInput(
            enrollment_id=enrollment.id,
            started_at=enrollment.started_at,
            attempt=enrollment.attempt,
            lead=lead,
            context=enrollment.context,
            zone=window.tz,
            now=now,
        )
        if isinstance(node, RESUMABLE) and state.run_status == NodeRunStatus.WAITING:
            return self._resume(graph, node, enrollment)
        if isinstance(node, SENDS):
            opens = next_open(window, now)
            if opens is not None:
                return _defer(enrollment, WaitingFor.WINDOW, opens)
        try:
            if tags is not None and isinstance(node, UpdateLeadNode) and not node.data.set_status:
                change = nodes.lead_change(node)
                tags.append((lead.id, change))
                result = nodes.lead_updated(change, [])
            else:
                result = await nodes.run_node(uow, self._tools, node, step)
        except Exception as error:
            transient = classify(error)
            if transient is None:
                raise
            raise NodeFailed(error, transient=transient) from error
        for event in result.events:
            uow.record(event)
        return self._after(graph, node, enrollment, result, now)

    def _after(
        self,
        graph: Graph,
        node: Node,
        enrollment: Enrollment,
        result: nodes.NodeResult,
        now: datetime,
    ) -> _Outcome:
        kind = node_type(node)
        run = NodeRun(
            id=uuid7(),
            enrollment_id=enrollment.id,
            node_id=node.id,
            node_type=kind,
            attempt=enrollment.attempt,
            status=result.status,
            input=None,
            output=result.output,
            started_at=now,
            finished_at=None if result.status is NodeRunStatus.WAITING else now,
        )
        context = result.context if result.context is not None else enrollment.context
        if result.status is NodeRunStatus.WAITING:
            move = Move(
                status=EnrollmentStatus.WAITING,
                node_id=node.id,
                attempt=enrollment.attempt,
                next_run_at=result.next_run_at,
                waiting_for=result.waiting_for,
                call_id=result.call_id,
                context=context,
            )
        else:
            move = _onward(graph, node.id, result.handle, context)
        journal = f"{kind} {result.status.value.lower()}"
        return _Outcome(move=move, run=run, journal=journal, node_type=kind)

    def _resume(self, graph: Graph, node: Node, enrollment: Enrollment) -> _Outcome:
        """The wait elapsed, or the call's outcome (or its timeout) came in."""
        context = dict(enrollment.context)
        output: dict[str, Any] = {}
        if isinstance(node, AiCallNode):
            outcome, call = nodes.call_outcome(context)
            context["call"] = call
            output = {"call_id": call.get("id"), "outcome": outcome}
        move = _onward(graph, node.id, None, context)
        return _Outcome(
            move=move,
            finish_waiting=(node.id, output),
            journal=f"{node_type(node)} resumed",
            node_type=node_type(node),
        )

    async def _write(
        self, uow: RunsUnitOfWork, state: StepState, outcome: _Outcome, now: datetime
    ) -> None:
        enrollment = state.enrollment
        record = _record(enrollment, outcome, now)
        recorded = await uow.workflow_enrollments.record(
            enrollment,
            record.move,
            now,
            run=record.run,
            finish=record.finish,
            journal=record.journal,
        )
        if not recorded:
            raise PermanentFailure(f"enrollment {enrollment.id} moved under its lock")

    async def _record_failure(
        self, ref: StepRef, failed: NodeFailed, now: datetime
    ) -> _Outcome | None:
        async with self._uow() as uow:
            state = await uow.workflow_enrollments.load_step(ref.enrollment_id)
            if state is None or not _current(state.enrollment, ref, now):
                return None
            enrollment = state.enrollment
            error = str(failed)[:2000]
            delay = retry_delay(enrollment.attempt) if failed.transient else None
            if delay is not None:
                move = Move(
                    status=EnrollmentStatus.WAITING,
                    node_id=enrollment.current_node_id,
                    attempt=enrollment.attempt + 1,
                    next_run_at=now + delay,
                    waiting_for=WaitingFor.RETRY,
                    last_error=error,
                )
            else:
                move = Move(
                    status=EnrollmentStatus.FAILED,
                    node_id=enrollment.current_node_id,
                    attempt=enrollment.attempt,
                    last_error=error,
                )
            kind = await self._node_type(uow, enrollment)
            run = NodeRun(
                id=uuid7(),
                enrollment_id=enrollment.id,
                node_id=enrollment.current_node_id,
                node_type=kind,
                attempt=enrollment.attempt,
                status=NodeRunStatus.FAILED,
                error=error,
                output={"transient": failed.transient},
                started_at=now,
                finished_at=now,
            )
            outcome = _Outcome(move=move, run=run, journal=f"{kind} failed", node_type=kind)
            await self._write(uow, state, outcome, now)
            await uow.commit()
        log.warning(
            "workflow.node_failed",
            extra={
                "enrollment_id": str(enrollment.id),
                "node_id": enrollment.current_node_id,
                "attempt": enrollment.attempt,
                "transient": failed.transient,
                "error": error[:300],
            },
        )
        return outcome

    async def _node_type(self, uow: RunsUnitOfWork, enrollment: Enrollment) -> str:
        try:
            graph = await self._graph(uow, enrollment.workflow_id, enrollment.version)
        except ValueError:
            return "unknown"
        node = graph.nodes.get(enrollment.current_node_id)
        return node_type(node) if node is not None else "unknown"

    async def _graph(self, uow: RunsUnitOfWork, workflow_id: uuid.UUID, version: int) -> Graph:
        """A published version's graph, parsed once per process (versions never change)."""
        key = (workflow_id, version)
        graph = self._graphs.get(key)
        if graph is None:
            stored = await uow.workflow_enrollments.graph(workflow_id, version)
            if stored is None:
                raise NodeFailed(
                    PermanentFailure(f"workflow {workflow_id} has no version {version}"),
                    transient=False,
                )
            graph = load_graph(stored)
            if len(self._graphs) >= GRAPH_CACHE_SIZE:
                self._graphs.clear()
            self._graphs[key] = graph
        return graph

    async def _follow(self, enrollment_id: uuid.UUID, move: Move, lock_version: int) -> None:
        """After the commit: an ACTIVE enrollment with no timer gets its next step now."""
        if move.status is EnrollmentStatus.ACTIVE and move.next_run_at is None:
            await self.dispatch([StepRef(enrollment_id, move.node_id, lock_version)])

    async def dispatch(self, refs: list[StepRef]) -> None:
        """Send the steps (after their commit), one publish after the other: on the inline
        broker (the CLI, the tests) each send runs its step, which must not share the
        transaction's connection with another.

        A broker outage here leaves the enrollments ACTIVE with no timer: it is logged, and the
        sweeper re-drives them once they have been idle for 10 minutes (nothing is lost, a
        step is only late)."""
        for n, ref in enumerate(refs):
            try:
                await self._queue.send_message(STEP.name, msgspec.to_builtins(ref))
            except Exception as error:  # noqa: BLE001 - logged; the sweeper re-drives them
                log.warning(
                    "workflow.dispatch_failed",
                    extra={"steps": len(refs) - n, "error": repr(error)[:300]},
                )
                return

    async def _dispatch_together(self, refs: list[StepRef]) -> None:
        """``dispatch`` with the publishes in flight together (a batch runs on a real broker
        only, where a publish waits for the broker's acknowledgement)."""
        sent = await asyncio.gather(
            *(self._queue.send_message(STEP.name, msgspec.to_builtins(ref)) for ref in refs),
            return_exceptions=True,
        )
        lost = [error for error in sent if isinstance(error, BaseException)]
        if lost:  # the sweeper re-drives them
            log.warning(
                "workflow.dispatch_failed", extra={"steps": len(lost), "error": repr(lost[0])[:300]}
            )

    # --- timers, lost jobs, outcomes --------------------------------------------------------

    async def release_due(self, limit: int = RELEASE_BATCH) -> int:
        """Claim due enrollments (timers, retries, deferrals, new enrollments) and send their
        steps; returns how many. Every worker calls it (``Module.releasers``)."""
        now = self._clock.now()
        async with self._uow() as uow:
            refs = await uow.workflow_enrollments.claim_due(now, limit)
            await uow.commit()
        await self.dispatch(refs)
        return len(refs)

    async def sweep(self) -> int:
        """Re-drive what a lost job left behind: WAITING more than 5 min past due (no release
        loop ran), ACTIVE untouched for 10 min (its step message was lost)."""
        now = self._clock.now()
        async with self._uow() as uow:
            repo = uow.workflow_enrollments
            late = await repo.claim_due(now, 5000, late_by=SWEEP_WAITING_LATE.total_seconds())
            idle = await repo.idle_active(now - SWEEP_ACTIVE_IDLE, now, 5000)
            await uow.commit()
        await self.dispatch(late + idle)
        if late or idle:
            log.info("workflow.swept", extra={"late": len(late), "idle": len(idle)})
        return len(late) + len(idle)

    async def call_completed(self, event: AiCallCompleted) -> None:
        """An AI call ended: resume the enrollment waiting on it (if any still does)."""
        now = self._clock.now()
        async with self._uow() as uow:
            ref = await uow.workflow_enrollments.resume_call(event.call_id, event.outcome, now)
            await uow.commit()
        if ref is not None:
            await self.dispatch([ref])

    # --- admin ------------------------------------------------------------------------------

    async def retry(self, enrollment_id: uuid.UUID) -> Enrollment:
        """FAILED → ACTIVE at attempt + 1 (a new node run; the old ones stay as they are)."""
        now = self._clock.now()
        async with self._uow() as uow:
            repo = uow.workflow_enrollments
            enrollment = await repo.get_for_update(enrollment_id)
            if enrollment is None:
                raise enrollment_not_found(enrollment_id)
            if enrollment.status is not EnrollmentStatus.FAILED:
                raise _illegal(enrollment.status, EnrollmentStatus.ACTIVE)
            move = Move(
                status=EnrollmentStatus.ACTIVE,
                node_id=enrollment.current_node_id,
                attempt=enrollment.attempt + 1,
                context=enrollment.context,
            )
            await repo.move(enrollment, move, now)
            await uow.commit()
        await self._follow(enrollment.id, move, enrollment.lock_version + 1)
        return await self.get(enrollment_id)

    async def cancel(self, enrollment_id: uuid.UUID) -> Enrollment:
        """ACTIVE | WAITING | FAILED → CANCELLED (``cancelled_by_admin``)."""
        now = self._clock.now()
        async with self._uow() as uow:
            repo = uow.workflow_enrollments
            enrollment = await repo.get_for_update(enrollment_id)
            if enrollment is None:
                raise enrollment_not_found(enrollment_id)
            if enrollment.status not in (*DUE, EnrollmentStatus.FAILED):
                raise _illegal(enrollment.status, EnrollmentStatus.CANCELLED)
            move = Move(
                status=EnrollmentStatus.CANCELLED,
                node_id=enrollment.current_node_id,
                attempt=enrollment.attempt,
                exit_reason="cancelled_by_admin",
                last_error=enrollment.last_error,
                finished=True,
            )
            await repo.move(enrollment, move, now)
            await uow.commit()
        return await self.get(enrollment_id)

    async def retry_failed(self, workflow_id: uuid.UUID) -> int:
        """Every FAILED enrollment of the workflow back to ACTIVE at attempt + 1."""
        now = self._clock.now()
        async with self._uow() as uow:
            if await uow.workflow_enrollments.workflow_status(workflow_id) is None:
                raise NotFound(f"no workflow {workflow_id}", code="workflow_not_found")
            refs = await uow.workflow_enrollments.retry_failed(workflow_id, now)
            await uow.commit()
        await self.dispatch(refs)
        return len(refs)

    async def get(self, enrollment_id: uuid.UUID) -> Enrollment:
        async with self._uow() as uow:
            enrollment = await uow.workflow_enrollments.get(enrollment_id)
        if enrollment is None:
            raise enrollment_not_found(enrollment_id)
        return enrollment


def _current(enrollment: Enrollment, ref: StepRef, now: datetime) -> bool:
    """The delivery is the one the enrollment waits for (else stale, duplicate or early)."""
    if enrollment.status not in DUE:
        return False
    if enrollment.current_node_id != ref.node_id or enrollment.lock_version != ref.lock_version:
        return False
    return enrollment.next_run_at is None or enrollment.next_run_at <= now


def _window(raw: Mapping[str, Any] | None) -> SendWindow:
    if not raw:
        return SendWindow()
    return msgspec.convert(raw, SendWindow)


def _onward(graph: Graph, node_id: str, handle: str | None, context: dict[str, Any]) -> Move:
    following = graph.next(node_id, handle)
    if following is None:
        return Move(
            status=EnrollmentStatus.COMPLETED,
            node_id=node_id,
            attempt=1,
            context=context,
            finished=True,
        )
    return Move(status=EnrollmentStatus.ACTIVE, node_id=following, attempt=1, context=context)


def _stop(enrollment: Enrollment, status: EnrollmentStatus, reason: str) -> _Outcome:
    move = Move(
        status=status,
        node_id=enrollment.current_node_id,
        attempt=enrollment.attempt,
        exit_reason=reason,
        finished=True,
    )
    return _Outcome(move=move, journal=f"{status.value.lower()} ({reason})")


def _defer(enrollment: Enrollment, why: WaitingFor, until: datetime) -> _Outcome:
    move = Move(
        status=EnrollmentStatus.WAITING,
        node_id=enrollment.current_node_id,
        attempt=enrollment.attempt,
        next_run_at=until,
        waiting_for=why,
        call_id=enrollment.call_id,
    )
    return _Outcome(move=move)


def _record(enrollment: Enrollment, outcome: _Outcome, now: datetime) -> StepRecord:
    finish = None
    if outcome.finish_waiting is not None:
        node_id, output = outcome.finish_waiting
        finish = RunEnd(node_id=node_id, attempt=enrollment.attempt, output=output)
    return StepRecord(
        enrollment=enrollment,
        move=outcome.move,
        run=outcome.run,
        finish=finish,
        journal=_line(enrollment, outcome, now) if outcome.journal is not None else None,
    )


async def _outcome_of(step: Awaitable[None]) -> BaseException | None:
    try:
        await step
    except Exception as error:  # noqa: BLE001 - handed to the delivery that carried the ref
        return error
    return None


def _line(enrollment: Enrollment, outcome: _Outcome, now: datetime) -> JournalLine:
    move = outcome.move
    return JournalLine(
        lead_id=enrollment.raw_lead_id,
        summary=f"Workflow step: {outcome.journal}",
        data={
            "workflow_id": str(enrollment.workflow_id),
            "version": enrollment.version,
            "enrollment_id": str(enrollment.id),
            "node_id": enrollment.current_node_id,
            "node_type": outcome.node_type,
            "attempt": enrollment.attempt,
            "status": move.status.value,
            "next_node_id": move.node_id,
        },
        at=now,
    )


def _illegal(current: EnrollmentStatus, target: EnrollmentStatus) -> InvalidState:
    return InvalidState("enrollment", current.value, target.value)
