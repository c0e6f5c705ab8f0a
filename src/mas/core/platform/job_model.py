"""Job runs, their states and the retry policy. Pure: no I/O."""

from __future__ import annotations

import enum
import random
import uuid
from datetime import datetime, timedelta
from typing import Any

import msgspec

from mas.core.platform.errors import InvalidState


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # failed an attempt; waits for its next one
    DEAD = "dead"  # no attempts left
    SKIPPED = "skipped"  # a duplicate of another run with the same idempotency key


TERMINAL = frozenset({JobStatus.SUCCEEDED, JobStatus.DEAD, JobStatus.SKIPPED})

TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.QUEUED: frozenset({JobStatus.RUNNING}),
    JobStatus.RUNNING: frozenset(
        {JobStatus.RUNNING, JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.DEAD}
    ),
    JobStatus.FAILED: frozenset({JobStatus.RUNNING, JobStatus.QUEUED}),
    JobStatus.DEAD: frozenset({JobStatus.QUEUED}),
    JobStatus.SUCCEEDED: frozenset(),
    JobStatus.SKIPPED: frozenset(),
}


def check_transition(current: JobStatus, target: JobStatus) -> None:
    if target not in TRANSITIONS[current]:
        raise InvalidState("job run", current.value, target.value)


def _sources(target: JobStatus) -> frozenset[JobStatus]:
    return frozenset(src for src, targets in TRANSITIONS.items() if target in targets)


# The rules the ledger's set-based statements execute (derived from the table, so they agree):
# a delivery claims a run in one of CLAIMABLE at once, and a running one only once its lease
# lapsed (``JobRun.holds_lease`` is false); only a run in SUCCEEDS_FROM can succeed.
CLAIMABLE = _sources(JobStatus.RUNNING) - {JobStatus.RUNNING}
SUCCEEDS_FROM = _sources(JobStatus.SUCCEEDED)


def lease_expiry(now: datetime, timeout_s: float) -> datetime:
    """A claim made at ``now`` holds the run for the task's timeout."""
    return now + timedelta(seconds=timeout_s)


class RetryPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """``max_attempts`` counts the first run; delays grow as base * 2**(n-1), capped, jittered."""

    max_attempts: int = 3
    base_delay_s: float = 30.0
    max_delay_s: float = 3600.0
    jitter: float = 0.2  # +/- this fraction of the delay
    timeout_s: float = 300.0

    def delay_after(self, attempt: int, rng: random.Random | None = None) -> timedelta:
        """How long to wait after failed attempt number ``attempt`` (1-based)."""
        raw = min(self.base_delay_s * (2 ** max(attempt - 1, 0)), self.max_delay_s)
        spread = raw * self.jitter
        roll = (rng or random).uniform(-spread, spread)
        return timedelta(seconds=max(raw + roll, 0.0))


class JobRun(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    task: str
    idempotency_key: str
    status: JobStatus
    args: dict[str, Any]
    attempts: int
    max_attempts: int
    enqueued_at: datetime
    last_error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    next_attempt_at: datetime | None = None
    lease_until: datetime | None = None
    duplicate_of: uuid.UUID | None = None
    version: int = 0  # optimistic lock: a save matches the version it read

    def start(self, now: datetime, timeout_s: float) -> None:
        check_transition(self.status, JobStatus.RUNNING)
        self.status = JobStatus.RUNNING
        self.attempts += 1
        self.started_at = now
        self.finished_at = None
        self.next_attempt_at = None
        # A worker that dies mid-run leaves the lease to lapse; the next delivery takes over.
        self.lease_until = lease_expiry(now, timeout_s)

    def succeed(self, now: datetime) -> None:
        check_transition(self.status, JobStatus.SUCCEEDED)
        self.status = JobStatus.SUCCEEDED
        self.finished_at = now
        self.lease_until = None
        self.last_error = None

    def fail(self, now: datetime, error: str, next_attempt_at: datetime | None) -> None:
        """Record a failed attempt; without a next attempt (or out of attempts) the run is dead."""
        target = JobStatus.FAILED
        if next_attempt_at is None or self.attempts >= self.max_attempts:
            target = JobStatus.DEAD
            next_attempt_at = None
        check_transition(self.status, target)
        self.status = target
        self.last_error = error[:2000]
        self.finished_at = now
        self.lease_until = None
        self.next_attempt_at = next_attempt_at

    def requeue(self, extra_attempts: int) -> None:
        """An operator's retry: the run gets ``extra_attempts`` more tries."""
        check_transition(self.status, JobStatus.QUEUED)
        self.status = JobStatus.QUEUED
        self.max_attempts = self.attempts + extra_attempts
        self.finished_at = None
        self.next_attempt_at = None

    def holds_lease(self, now: datetime) -> bool:
        return (
            self.status is JobStatus.RUNNING
            and self.lease_until is not None
            and self.lease_until > now
        )


class JobFilter(msgspec.Struct, frozen=True, kw_only=True):
    status: JobStatus | None = None
    task: str | None = None
