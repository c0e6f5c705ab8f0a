"""What every part of the workflow domain shares: the states and the workflow's settings."""

from __future__ import annotations

import enum


class WorkflowStatus(enum.StrEnum):
    DRAFT = "DRAFT"
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    ARCHIVED = "ARCHIVED"


class TriggerType(enum.StrEnum):
    SEGMENT_SCAN = "SEGMENT_SCAN"
    LEAD_EVENT = "LEAD_EVENT"
    MANUAL = "MANUAL"


class ReenrollPolicy(enum.StrEnum):
    NEVER = "NEVER"
    AFTER_EXIT = "AFTER_EXIT"
    ALWAYS = "ALWAYS"


class EnrollmentStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    WAITING = "WAITING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    EXITED = "EXITED"
    CANCELLED = "CANCELLED"


LIVE = frozenset({EnrollmentStatus.ACTIVE, EnrollmentStatus.WAITING, EnrollmentStatus.FAILED})
"""A lead is in a workflow at most once while its enrollment is in one of these."""
TERMINAL = frozenset(
    {EnrollmentStatus.COMPLETED, EnrollmentStatus.EXITED, EnrollmentStatus.CANCELLED}
)


class EnrolledVia(enum.StrEnum):
    SCAN = "SCAN"
    EVENT = "EVENT"
    MANUAL = "MANUAL"


class NodeRunStatus(enum.StrEnum):
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"
    WAITING = "WAITING"
