"""The engine's ports: its ledger (the enrollments and their node runs) and the CRM side it
writes (the lead's journal, tags and status).

Both are unit-of-work attributes, so a step's node run, the enrollment's move, the journal
line, a lead change and the messenger's rows commit in one transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from mas.core.platform.events import DomainEvent
from mas.core.platform.ports.uow import UnitOfWork
from mas.core.workflow.runs.model import (
    Enrollment,
    JournalLine,
    LeadChange,
    Move,
    NodeRun,
    RunEnd,
    StepRecord,
    StepRef,
    StepState,
)


class EnrollmentRepository(Protocol):
    """``uow.workflow_enrollments``: also the definitions part's ``LiveEnrollments``."""

    async def load_step(self, enrollment_id: uuid.UUID) -> StepState | None:
        """The enrollment locked (FOR UPDATE) with its workflow's status, exit statuses and
        send window and its lead (None when the lead is gone), in one statement."""
        ...

    async def load_steps(self, enrollment_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, StepState]:
        """``load_step`` for a batch, in one statement: the enrollments found, locked in id
        order (by id)."""
        ...

    async def graph(self, workflow_id: uuid.UUID, version: int) -> Mapping[str, Any] | None:
        """A published version's stored graph."""
        ...

    async def move(self, enrollment: Enrollment, move: Move, now: datetime) -> bool:
        """Write the move if the enrollment is still at its ``lock_version`` (bumping it)."""
        ...

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
        """One step's record: the new node run, the end of a WAITING one, the move (guarded as
        ``move``) and the ``WORKFLOW_STEP`` line on the lead's journal. False (and nothing
        to commit) when the enrollment moved meanwhile."""
        ...

    async def record_many(self, records: Sequence[StepRecord], now: datetime) -> int:
        """A batch's records, set-based (``record`` for each, in as few statements as the
        database allows); returns how many enrollments moved (fewer than given: one moved
        meanwhile, and the transaction must not commit)."""
        ...

    async def claim_due(self, now: datetime, limit: int, *, late_by: float = 0.0) -> list[StepRef]:
        """Due ACTIVE/WAITING rows (``next_run_at <= now - late_by`` seconds) turned ACTIVE
        with ``next_run_at`` cleared, set-based and SKIP LOCKED where the database has it."""
        ...

    async def idle_active(self, before: datetime, now: datetime, limit: int) -> list[StepRef]:
        """ACTIVE rows with no timer untouched since ``before`` (their step job was lost);
        their ``updated_at`` is set to ``now`` so one sweep re-drives each once."""
        ...

    async def resume_call(self, call_id: str, outcome: str, now: datetime) -> StepRef | None:
        """The enrollment WAITING on ``call_id``: outcome written into its context, ACTIVE (a
        paused workflow's enrollment only keeps the outcome: None, no step)."""
        ...

    async def get(self, enrollment_id: uuid.UUID) -> Enrollment | None: ...

    async def get_for_update(self, enrollment_id: uuid.UUID) -> Enrollment | None: ...

    async def node_runs(self, enrollment_id: uuid.UUID) -> list[NodeRun]: ...

    async def workflow_status(self, workflow_id: uuid.UUID) -> str | None:
        """The workflow's status (None: no such workflow)."""
        ...

    async def retry_failed(self, workflow_id: uuid.UUID, now: datetime) -> list[StepRef]:
        """Every FAILED enrollment of the workflow back to ACTIVE with attempt + 1."""
        ...

    async def cancel_live(self, workflow_id: uuid.UUID, *, reason: str, at: datetime) -> int: ...

    async def resume_paused(self, workflow_id: uuid.UUID, *, at: datetime) -> int: ...

    async def status_counts(
        self, workflow_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, dict[str, int]]: ...


class WorkflowLeads(Protocol):
    """``uow.workflow_leads``: what the engine writes and reads of the CRM's leads."""

    async def tags(self, lead_id: uuid.UUID) -> list[str]: ...

    async def owner(self, owner_id: uuid.UUID) -> tuple[str, str | None] | None:
        """The owner's name and phone."""
        ...

    async def apply(
        self, lead_id: uuid.UUID, change: LeadChange, *, at: datetime
    ) -> list[DomainEvent]:
        """Tags and status through the CRM's rules (the state machine; ``InvalidState`` on an
        illegal move); applying the same change twice changes nothing the second time. The
        CRM events to record are returned."""
        ...

    async def apply_tags(
        self, changes: Sequence[tuple[uuid.UUID, LeadChange]], *, at: datetime
    ) -> None:
        """Tag-only changes of many leads (a batch of steps), set-based: one catalogue check
        (``NotFound`` naming an unknown tag), one attach or detach per distinct tag set, one
        journal append; what is already so changes nothing."""
        ...


class RunsUnitOfWork(UnitOfWork, Protocol):
    workflow_enrollments: EnrollmentRepository
    workflow_leads: WorkflowLeads

    def hold_sends(self) -> None:
        """Write this unit's keyed messages together at the commit (a batch of steps); a key
        already taken then fails the commit, and the batch runs again one step at a time."""
        ...
