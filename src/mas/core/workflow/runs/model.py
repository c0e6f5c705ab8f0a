"""The engine's records: an enrollment (one lead on one pinned version), its node runs, the
step message, and the retry rule.

Retries (spec §5, §6, acceptance 11): a node gets ``ATTEMPTS`` automatic attempts per round;
after a transient failure of attempt n the next attempt waits ``RETRY_DELAYS[position - 1]``
(position = n's place in its round: 1 min before the second attempt, 5 min before the third).
A failure of the round's last attempt leaves the enrollment FAILED; an admin retry starts a new
round (attempt 4 is the first of round two, and so on). The spec's third delay (30 min) would
apply before a fourth automatic attempt, which acceptance 11 ("fails 3 times → FAILED; retry
creates attempt 4") rules out; it is kept so the budget is one constant away.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime, timedelta
from typing import Any

import msgspec

from mas.core.workflow.model import EnrolledVia, EnrollmentStatus, NodeRunStatus

ATTEMPTS = 3
RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30))
PAUSE_DEFERRAL = timedelta(minutes=15)
"""A due step of a PAUSED workflow is looked at again this much later (spec §5)."""
SWEEP_WAITING_LATE = timedelta(minutes=5)
SWEEP_ACTIVE_IDLE = timedelta(minutes=10)


def retry_delay(attempt: int) -> timedelta | None:
    """The wait before the attempt after ``attempt`` failed transiently; None = no more."""
    position = (attempt - 1) % ATTEMPTS + 1
    return RETRY_DELAYS[position - 1] if position < ATTEMPTS else None


class WaitingFor(enum.StrEnum):
    TIMER = "timer"
    WINDOW = "window"
    CALL = "call"
    RETRY = "retry"
    PAUSED = "paused"


class StepRef(msgspec.Struct, frozen=True):
    """The ``workflow.step`` message: run ``node_id`` of the enrollment if still at
    ``lock_version`` (anything else is a stale or duplicate delivery)."""

    enrollment_id: uuid.UUID
    node_id: str
    lock_version: int


class Enrollment(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    workflow_id: uuid.UUID
    version: int
    raw_lead_id: uuid.UUID
    status: EnrollmentStatus
    current_node_id: str
    attempt: int
    next_run_at: datetime | None
    waiting_for: WaitingFor | None
    call_id: str | None
    enrolled_via: EnrolledVia
    enrolled_by: uuid.UUID | None
    context: dict[str, Any]
    exit_reason: str | None
    last_error: str | None
    started_at: datetime
    finished_at: datetime | None
    updated_at: datetime
    lock_version: int


class NodeRun(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    enrollment_id: uuid.UUID
    node_id: str
    node_type: str
    attempt: int
    status: NodeRunStatus
    input: dict[str, Any] | None = None
    output: dict[str, Any] | None = None
    error: str | None = None
    started_at: datetime
    finished_at: datetime | None = None


class LeadFacts(msgspec.Struct, kw_only=True):
    """What a step reads of the lead (joined into the step's one locking statement)."""

    id: uuid.UUID
    name: str
    email: str | None
    phone_e164: str | None
    status: str
    source: str
    course_interest: str | None
    assigned: bool
    owner_id: uuid.UUID | None


class StepState(msgspec.Struct, kw_only=True):
    """An enrollment locked for one step, with its workflow's settings and its lead."""

    enrollment: Enrollment
    workflow_status: str
    exit_on_statuses: list[str]
    send_window: dict[str, Any] | None
    lead: LeadFacts | None
    """None: the lead was deleted."""
    run_status: str | None = None
    """The status of the current node's run at the current attempt, if it has one (a WAITING
    run means this step resumes the node)."""


class Move(msgspec.Struct, kw_only=True):
    """How one step leaves the enrollment: written with the lock_version guard."""

    status: EnrollmentStatus
    node_id: str
    attempt: int
    next_run_at: datetime | None = None
    waiting_for: WaitingFor | None = None
    call_id: str | None = None
    context: dict[str, Any] | None = None
    exit_reason: str | None = None
    last_error: str | None = None
    finished: bool = False


class RunEnd(msgspec.Struct, frozen=True, kw_only=True):
    """A WAITING node run's end: the wait elapsed, or the call's outcome (or timeout) came."""

    node_id: str
    attempt: int
    output: dict[str, Any]
    status: NodeRunStatus = NodeRunStatus.SUCCEEDED


class LeadChange(msgspec.Struct, frozen=True, kw_only=True):
    add_tags: list[str] = []
    remove_tags: list[str] = []
    set_status: str | None = None


class JournalLine(msgspec.Struct, frozen=True, kw_only=True):
    """One ``WORKFLOW_STEP`` line on the lead's journal."""

    lead_id: uuid.UUID
    summary: str
    data: dict[str, Any]
    at: datetime


class StepRecord(msgspec.Struct, kw_only=True):
    """One step's writes in a batch: what ``EnrollmentRepository.record`` takes, as one value."""

    enrollment: Enrollment
    move: Move
    run: NodeRun | None = None
    finish: RunEnd | None = None
    journal: JournalLine | None = None


class RetryResult(msgspec.Struct, frozen=True, kw_only=True):
    retried: int
