"""The engine's ledger on SQLAlchemy Core: ``uow.workflow_enrollments``.

The step path is two statements of its own, none through the ORM: one ``SELECT … FOR UPDATE
OF`` the enrollment joined to its workflow (status, exit statuses, send window) and its lead,
with the current node's run status as a scalar subquery; and one guarded UPDATE of the
enrollment (``WHERE lock_version = :seen``) carrying the node run's INSERT and the lead's
``WORKFLOW_STEP`` journal line as data-modifying CTEs on PostgreSQL (three statements on
SQLite). The journal line is written here rather than through the CRM's journal store: it is
an append-only row of the engine's own, and ``last_activity_at`` is deliberately left alone
(an automated nurture step is not the lead's activity: a "no activity for n days" segment must
not be kept fresh by the workflow that targets it). Due rows are claimed set-based with
``UPDATE … WHERE id IN (SELECT … ORDER BY next_run_at LIMIT n FOR UPDATE SKIP LOCKED)
RETURNING``; SQLite, which has no row locks, runs the same statement under its one write lock.

The ``status IN (…)`` filters are written as literals so PostgreSQL can match the partial
indexes (``ix_workflow_enrollments_due``, ``uq_workflow_enrollments_live``) with any plan.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import msgspec
from advanced_alchemy.types import GUID, JsonB
from sqlalchemy import Integer, String, bindparam, column, func, insert, select, table, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from mas.adapters.db.crm.journal import serialise_writers
from mas.adapters.db.crm.journal import table as core_table
from mas.adapters.db.crm.tables import LeadActivityRow, RawLeadRow
from mas.adapters.db.workflow.runs_tables import workflow_enrollments as ENROLLMENTS
from mas.adapters.db.workflow.runs_tables import workflow_node_runs as RUNS
from mas.core.crm.model import ActivityType
from mas.core.platform.ids import uuid7
from mas.core.workflow.model import EnrollmentStatus
from mas.core.workflow.runs.model import (
    Enrollment,
    JournalLine,
    LeadFacts,
    Move,
    NodeRun,
    RunEnd,
    StepRecord,
    StepRef,
    StepState,
    WaitingFor,
)

LEADS = core_table(RawLeadRow)
ACTIVITIES = core_table(LeadActivityRow)
# The definitions part's tables, named by the columns read here only.
WORKFLOWS = table(
    "workflows",
    column("id", GUID),
    column("status", String),
    column("exit_on_statuses", JsonB),
    column("send_window", JsonB),
)
VERSIONS = table(
    "workflow_versions",
    column("workflow_id", GUID),
    column("version", Integer),
    column("graph", JsonB),
)
DUE = text("workflow_enrollments.status IN ('ACTIVE', 'WAITING')")
LIVE = text("workflow_enrollments.status IN ('ACTIVE', 'WAITING', 'FAILED')")
E = ENROLLMENTS.c
_ENROLLMENT_COLUMNS = [ENROLLMENTS.c[f] for f in Enrollment.__struct_fields__]
_RUN_COLUMNS = [RUNS.c[f] for f in NodeRun.__struct_fields__]
_RUN_STATUS = (
    select(RUNS.c.status)
    .where(
        RUNS.c.enrollment_id == E.id,
        RUNS.c.node_id == E.current_node_id,
        RUNS.c.attempt == E.attempt,
    )
    .scalar_subquery()
    .label("run_status")
)
_STEP_READ = select(
    *_ENROLLMENT_COLUMNS,
    WORKFLOWS.c.status.label("workflow_status"),
    WORKFLOWS.c.exit_on_statuses,
    WORKFLOWS.c.send_window,
    LEADS.c.name.label("lead_name"),
    LEADS.c.email.label("lead_email"),
    LEADS.c.phone_e164.label("lead_phone"),
    LEADS.c.status.label("lead_status"),
    LEADS.c.source.label("lead_source"),
    LEADS.c.course_interest.label("lead_course_interest"),
    LEADS.c.assigned_to.label("lead_assigned_to"),
    LEADS.c.owning_sales_head_id.label("lead_head"),
    LEADS.c.deleted_at.label("lead_deleted_at"),
    LEADS.c.id.label("lead_id"),
    _RUN_STATUS,
).select_from(
    ENROLLMENTS.join(WORKFLOWS, WORKFLOWS.c.id == E.workflow_id).outerjoin(
        LEADS, LEADS.c.id == E.raw_lead_id
    )
)
_STEP = _STEP_READ.where(E.id == bindparam("enrollment_id")).with_for_update(of=ENROLLMENTS)
"""Built once: a statement object keeps its cache key, so the step's read is not re-keyed."""
_STEPS = (
    _STEP_READ.where(E.id.in_(bindparam("enrollment_ids", expanding=True)))
    .order_by(E.id)
    .with_for_update(of=ENROLLMENTS)
)
"""A batch's read: the rows locked in id order, so two batches never wait on each other in a
cycle."""
_REF_COLUMNS = (E.id, E.current_node_id, E.lock_version)


def _journal_values(line: JournalLine) -> dict[str, Any]:
    return {
        "id": uuid7(),
        "raw_lead_id": line.lead_id,
        "actor_id": None,
        "type": ActivityType.WORKFLOW_STEP.value,
        "summary": line.summary[:500],
        "data": line.data,
        "occurred_at": line.at,
        "created_at": line.at,
        "updated_at": line.at,
    }


def _enrollment(row: Any) -> Enrollment:
    return msgspec.convert({f: row[f] for f in Enrollment.__struct_fields__}, Enrollment)


def _refs(rows: Sequence[Any]) -> list[StepRef]:
    return [StepRef(row[0], row[1], row[2]) for row in rows]


def _step_state(row: Any) -> StepState:
    lead = None
    if row["lead_id"] is not None and row["lead_deleted_at"] is None:
        lead = LeadFacts(
            id=row["lead_id"],
            name=row["lead_name"],
            email=row["lead_email"],
            phone_e164=row["lead_phone"],
            status=row["lead_status"],
            source=row["lead_source"],
            course_interest=row["lead_course_interest"],
            assigned=row["lead_assigned_to"] is not None,
            owner_id=row["lead_assigned_to"] or row["lead_head"],
        )
    return StepState(
        enrollment=_enrollment(row),
        workflow_status=row["workflow_status"],
        exit_on_statuses=list(row["exit_on_statuses"] or []),
        send_window=row["send_window"],
        lead=lead,
        run_status=row["run_status"],
    )


def _finish(enrollment: Enrollment, finish: RunEnd, now: datetime) -> Any:
    return (
        update(RUNS)
        .where(
            RUNS.c.enrollment_id == enrollment.id,
            RUNS.c.node_id == finish.node_id,
            RUNS.c.attempt == finish.attempt,
            RUNS.c.status == "WAITING",
        )
        .values(status=finish.status.value, output=finish.output, finished_at=now)
    )


_RECORD_MANY = text(
    """
WITH moved AS (
  UPDATE workflow_enrollments AS e
  SET status = m.status,
      current_node_id = m.node_id,
      attempt = m.attempt,
      next_run_at = m.next_run_at,
      waiting_for = m.waiting_for,
      call_id = m.call_id,
      context = COALESCE(CAST(m.context AS jsonb), e.context),
      exit_reason = COALESCE(m.exit_reason, e.exit_reason),
      last_error = COALESCE(m.last_error, e.last_error),
      finished_at = CASE WHEN m.finished THEN CAST(:now AS timestamptz) ELSE e.finished_at END,
      updated_at = CAST(:now AS timestamptz),
      lock_version = e.lock_version + 1
  FROM unnest(CAST(:move_id AS uuid[]), CAST(:move_seen AS integer[]),
              CAST(:move_status AS text[]), CAST(:move_node AS text[]),
              CAST(:move_attempt AS integer[]), CAST(:move_next AS timestamptz[]),
              CAST(:move_waiting AS text[]), CAST(:move_call AS text[]),
              CAST(:move_context AS text[]), CAST(:move_exit AS text[]),
              CAST(:move_error AS text[]), CAST(:move_finished AS boolean[]))
       AS m(id, seen, status, node_id, attempt, next_run_at, waiting_for, call_id, context,
            exit_reason, last_error, finished)
  WHERE e.id = m.id AND e.lock_version = m.seen
  RETURNING e.id
), node_runs AS (
  INSERT INTO workflow_node_runs (id, enrollment_id, node_id, node_type, attempt, status,
                                  output, error, started_at, finished_at)
  SELECT r.id, r.enrollment_id, r.node_id, r.node_type, r.attempt, r.status,
         CAST(r.output AS jsonb), r.error, r.started_at, r.finished_at
  FROM unnest(CAST(:run_id AS uuid[]), CAST(:run_enrollment AS uuid[]),
              CAST(:run_node AS text[]), CAST(:run_type AS text[]),
              CAST(:run_attempt AS integer[]), CAST(:run_status AS text[]),
              CAST(:run_output AS text[]), CAST(:run_error AS text[]),
              CAST(:run_started AS timestamptz[]), CAST(:run_finished AS timestamptz[]))
       AS r(id, enrollment_id, node_id, node_type, attempt, status, output, error,
            started_at, finished_at)
), journal AS (
  INSERT INTO lead_activities (id, raw_lead_id, actor_id, type, summary, data, occurred_at,
                               created_at, updated_at)
  SELECT j.id, j.raw_lead_id, NULL, CAST(:journal_type AS text), j.summary,
         CAST(j.data AS jsonb), j.at, j.at, j.at
  FROM unnest(CAST(:line_id AS uuid[]), CAST(:line_lead AS uuid[]),
              CAST(:line_summary AS text[]), CAST(:line_data AS text[]),
              CAST(:line_at AS timestamptz[]))
       AS j(id, raw_lead_id, summary, data, at)
)
SELECT id FROM moved
"""
)
"""A batch's writes on PostgreSQL in one statement of constant text (nothing to re-compile
whatever the batch's size): the moves as one guarded UPDATE, the node runs and the journal
lines as data-modifying CTEs beside it (PostgreSQL runs them all); each column travels as one
array. The moves come first so the statement names its table within the first kilobyte that
``pg_stat_activity`` shows."""

_JSON = msgspec.json.Encoder()


def _json(value: Any) -> str | None:
    return None if value is None else _JSON.encode(value).decode()


def _record_arrays(records: Sequence[StepRecord], now: datetime) -> dict[str, Any]:
    runs = [r.run for r in records if r.run is not None]
    lines = [r.journal for r in records if r.journal is not None]
    moves = [(r.enrollment, r.move) for r in records]
    return {
        "now": now,
        "journal_type": ActivityType.WORKFLOW_STEP.value,
        "run_id": [run.id for run in runs],
        "run_enrollment": [run.enrollment_id for run in runs],
        "run_node": [run.node_id for run in runs],
        "run_type": [run.node_type for run in runs],
        "run_attempt": [run.attempt for run in runs],
        "run_status": [run.status.value for run in runs],
        "run_output": [_json(run.output) for run in runs],
        "run_error": [run.error for run in runs],
        "run_started": [run.started_at for run in runs],
        "run_finished": [run.finished_at for run in runs],
        "line_id": [uuid7() for _ in lines],
        "line_lead": [line.lead_id for line in lines],
        "line_summary": [line.summary[:500] for line in lines],
        "line_data": [_json(line.data) for line in lines],
        "line_at": [line.at for line in lines],
        "move_id": [e.id for e, _ in moves],
        "move_seen": [e.lock_version for e, _ in moves],
        "move_status": [m.status.value for _, m in moves],
        "move_node": [m.node_id for _, m in moves],
        "move_attempt": [m.attempt for _, m in moves],
        "move_next": [m.next_run_at for _, m in moves],
        "move_waiting": [m.waiting_for.value if m.waiting_for else None for _, m in moves],
        "move_call": [m.call_id for _, m in moves],
        "move_context": [_json(m.context) for _, m in moves],
        "move_exit": [m.exit_reason for _, m in moves],
        "move_error": [m.last_error[:2000] if m.last_error else None for _, m in moves],
        "move_finished": [m.finished for _, m in moves],
    }


class SqlEnrollmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    # --- the step ---------------------------------------------------------------------------

    async def load_step(self, enrollment_id: uuid.UUID) -> StepState | None:
        await serialise_writers(self._s)
        found = await self._s.execute(_STEP, {"enrollment_id": enrollment_id})
        row = found.mappings().first()
        return _step_state(row) if row is not None else None

    async def load_steps(self, enrollment_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, StepState]:
        await serialise_writers(self._s)
        found = await self._s.execute(_STEPS, {"enrollment_ids": list(enrollment_ids)})
        states = (_step_state(row) for row in found.mappings())
        return {state.enrollment.id: state for state in states}

    async def graph(self, workflow_id: uuid.UUID, version: int) -> Mapping[str, Any] | None:
        stored: Mapping[str, Any] | None = await self._s.scalar(
            select(VERSIONS.c.graph).where(
                VERSIONS.c.workflow_id == workflow_id, VERSIONS.c.version == version
            )
        )
        return stored

    async def move(self, enrollment: Enrollment, move: Move, now: datetime) -> bool:
        result = await self._s.execute(self._move(enrollment, move, now))
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    @staticmethod
    def _move(enrollment: Enrollment, move: Move, now: datetime) -> Any:
        values: dict[str, Any] = {
            "status": move.status.value,
            "current_node_id": move.node_id,
            "attempt": move.attempt,
            "next_run_at": move.next_run_at,
            "waiting_for": move.waiting_for.value if move.waiting_for else None,
            "call_id": move.call_id,
            "updated_at": now,
            "lock_version": E.lock_version + 1,
        }
        if move.context is not None:
            values["context"] = move.context
        if move.exit_reason is not None:
            values["exit_reason"] = move.exit_reason
        if move.last_error is not None:
            values["last_error"] = move.last_error[:2000]
        if move.finished:
            values["finished_at"] = now
        return (
            update(ENROLLMENTS)
            .where(E.id == enrollment.id, E.lock_version == enrollment.lock_version)
            .values(**values)
        )

    async def record(
        self,
        enrollment: Enrollment,
        move: Move,
        now: datetime,
        *,
        run: NodeRun | None = None,
        finish: RunEnd | None = None,
        journal: JournalLine | None = None,
    ) -> bool:
        writes: list[Any] = []
        if run is not None:
            values = {f: getattr(run, f) for f in NodeRun.__struct_fields__}
            values["status"] = run.status.value
            writes.append(insert(RUNS).values(**values))
        if finish is not None:
            writes.append(_finish(enrollment, finish, now))
        if journal is not None:
            writes.append(insert(ACTIVITIES).values(**_journal_values(journal)))
        moved = self._move(enrollment, move, now).returning(E.id)
        if self._s.get_bind().dialect.name == "postgresql":
            # One round trip: the writes ride along as data-modifying CTEs (PostgreSQL runs
            # them whatever the UPDATE finds; a lost guard rolls the transaction back).
            for n, write in enumerate(writes):
                moved = moved.add_cte(write.cte(f"step_write_{n}"))
            return (await self._s.execute(moved)).first() is not None
        for write in writes:
            await self._s.execute(write)
        return (await self._s.execute(moved)).first() is not None

    async def record_many(self, records: Sequence[StepRecord], now: datetime) -> int:
        if not records:
            return 0
        if self._s.get_bind().dialect.name != "postgresql":
            recorded = 0
            for r in records:
                moved = await self.record(
                    r.enrollment, r.move, now, run=r.run, finish=r.finish, journal=r.journal
                )
                recorded += moved
            return recorded
        for r in records:
            if r.finish is not None:  # a resumed wait: rare, one statement each
                await self._s.execute(_finish(r.enrollment, r.finish, now))
        found = await self._s.execute(_RECORD_MANY, _record_arrays(records, now))
        return len(found.all())

    # --- timers and lost jobs ---------------------------------------------------------------

    async def claim_due(self, now: datetime, limit: int, *, late_by: float = 0.0) -> list[StepRef]:
        cutoff = now - timedelta(seconds=late_by)
        due = (
            select(E.id)
            .where(DUE, E.next_run_at <= cutoff)
            .order_by(E.next_run_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        stmt = (
            update(ENROLLMENTS)
            .where(E.id.in_(due.scalar_subquery()))
            .values(status=EnrollmentStatus.ACTIVE.value, next_run_at=None, updated_at=now)
            .returning(*_REF_COLUMNS)
        )
        return _refs((await self._s.execute(stmt)).all())

    async def idle_active(self, before: datetime, now: datetime, limit: int) -> list[StepRef]:
        idle = (
            select(E.id)
            .where(
                E.status == EnrollmentStatus.ACTIVE.value,
                E.next_run_at.is_(None),
                E.updated_at < before,
            )
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        stmt = (
            update(ENROLLMENTS)
            .where(E.id.in_(idle.scalar_subquery()))
            .values(updated_at=now)
            .returning(*_REF_COLUMNS)
        )
        return _refs((await self._s.execute(stmt)).all())

    async def resume_call(self, call_id: str, outcome: str, now: datetime) -> StepRef | None:
        await serialise_writers(self._s)
        row = (
            (
                await self._s.execute(
                    select(*_ENROLLMENT_COLUMNS)
                    .where(
                        E.call_id == call_id,
                        E.status == EnrollmentStatus.WAITING.value,
                        E.waiting_for.in_([WaitingFor.CALL.value, WaitingFor.PAUSED.value]),
                    )
                    .with_for_update()
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        enrollment = _enrollment(row)
        context = dict(enrollment.context)
        context["call"] = {**(context.get("call") or {}), "id": call_id, "outcome": outcome}
        if enrollment.waiting_for is WaitingFor.PAUSED:
            # Held by a paused workflow: keep the outcome for when it resumes, no step now.
            await self._s.execute(
                update(ENROLLMENTS).where(E.id == enrollment.id).values(context=context)
            )
            return None
        await self._s.execute(
            update(ENROLLMENTS)
            .where(E.id == enrollment.id)
            .values(
                status=EnrollmentStatus.ACTIVE.value,
                next_run_at=None,
                context=context,
                updated_at=now,
            )
        )
        return StepRef(enrollment.id, enrollment.current_node_id, enrollment.lock_version)

    # --- reads ------------------------------------------------------------------------------

    async def get(self, enrollment_id: uuid.UUID) -> Enrollment | None:
        row = (
            (await self._s.execute(select(*_ENROLLMENT_COLUMNS).where(E.id == enrollment_id)))
            .mappings()
            .first()
        )
        return _enrollment(row) if row is not None else None

    async def get_for_update(self, enrollment_id: uuid.UUID) -> Enrollment | None:
        await serialise_writers(self._s)
        stmt = select(*_ENROLLMENT_COLUMNS).where(E.id == enrollment_id).with_for_update()
        row = (await self._s.execute(stmt)).mappings().first()
        return _enrollment(row) if row is not None else None

    async def node_runs(self, enrollment_id: uuid.UUID) -> list[NodeRun]:
        rows = (
            (
                await self._s.execute(
                    select(*_RUN_COLUMNS)
                    .where(RUNS.c.enrollment_id == enrollment_id)
                    .order_by(RUNS.c.started_at, RUNS.c.id)
                )
            )
            .mappings()
            .all()
        )
        return [
            msgspec.convert({f: row[f] for f in NodeRun.__struct_fields__}, NodeRun) for row in rows
        ]

    async def workflow_status(self, workflow_id: uuid.UUID) -> str | None:
        status: str | None = await self._s.scalar(
            select(WORKFLOWS.c.status).where(WORKFLOWS.c.id == workflow_id)
        )
        return status

    # --- bulk: admin retry, the definitions part's LiveEnrollments ---------------------------

    async def retry_failed(self, workflow_id: uuid.UUID, now: datetime) -> list[StepRef]:
        stmt = (
            update(ENROLLMENTS)
            .where(E.workflow_id == workflow_id, E.status == EnrollmentStatus.FAILED.value)
            .values(
                status=EnrollmentStatus.ACTIVE.value,
                attempt=E.attempt + 1,
                lock_version=E.lock_version + 1,
                next_run_at=None,
                waiting_for=None,
                updated_at=now,
            )
            .returning(*_REF_COLUMNS)
        )
        return _refs((await self._s.execute(stmt)).all())

    async def cancel_live(self, workflow_id: uuid.UUID, *, reason: str, at: datetime) -> int:
        result = await self._s.execute(
            update(ENROLLMENTS)
            .where(E.workflow_id == workflow_id, LIVE)
            .values(
                status=EnrollmentStatus.CANCELLED.value,
                exit_reason=reason,
                next_run_at=None,
                finished_at=at,
                updated_at=at,
                lock_version=E.lock_version + 1,
            )
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def resume_paused(self, workflow_id: uuid.UUID, *, at: datetime) -> int:
        result = await self._s.execute(
            update(ENROLLMENTS)
            .where(
                E.workflow_id == workflow_id,
                E.status == EnrollmentStatus.WAITING.value,
                E.waiting_for == WaitingFor.PAUSED.value,
            )
            .values(next_run_at=at, updated_at=at)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def status_counts(
        self, workflow_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, dict[str, int]]:
        counts: dict[uuid.UUID, dict[str, int]] = {wid: {} for wid in workflow_ids}
        if not workflow_ids:
            return counts
        rows = await self._s.execute(
            select(E.workflow_id, E.status, func.count())
            .where(E.workflow_id.in_(list(workflow_ids)))
            .group_by(E.workflow_id, E.status)
        )
        for workflow_id, status, count in rows.all():
            counts[workflow_id][status] = int(count)
        return counts
