"""Workflows and their published versions (workflow.md §3, §5).

A workflow is edited as a *draft* (its graph and settings change freely until archived) and
run as *versions*: enabling publishes the draft as version n+1 when it differs from the last
one (same checksum → no new version), and enrollments pin the version they started on.

The workflow moves only along ``MOVES``; an illegal move raises ``InvalidState`` (409).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec

from mas.core.platform.errors import InvalidState
from mas.core.workflow.definitions.canvas import Canvas
from mas.core.workflow.definitions.graph import GraphIssue
from mas.core.workflow.definitions.nodes import (
    TAG_SCHEMA,
    LeadStatuses,
    Tag,
    list_of,
)
from mas.core.workflow.definitions.window import SendWindow
from mas.core.workflow.model import EnrollmentStatus, ReenrollPolicy, TriggerType, WorkflowStatus

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=150)]
Description = Annotated[str, msgspec.Meta(max_length=1000)]
Short = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Days = Annotated[int, msgspec.Meta(ge=1, le=3650)]
SHORT_SCHEMA: dict[str, object] = {"type": "string", "minLength": 1, "maxLength": 100}
UUID_SCHEMA: dict[str, object] = {"type": "string", "format": "uuid"}

DEFAULT_EXIT_STATUSES = ["CONVERTED", "NOT_INTERESTED", "INVALID", "CLOSED"]

MOVES: dict[WorkflowStatus, frozenset[WorkflowStatus]] = {
    WorkflowStatus.DRAFT: frozenset({WorkflowStatus.ACTIVE, WorkflowStatus.ARCHIVED}),
    WorkflowStatus.ACTIVE: frozenset(
        {WorkflowStatus.ACTIVE, WorkflowStatus.PAUSED, WorkflowStatus.ARCHIVED}
    ),
    WorkflowStatus.PAUSED: frozenset({WorkflowStatus.ACTIVE, WorkflowStatus.ARCHIVED}),
    WorkflowStatus.ARCHIVED: frozenset(),
}


def check_move(current: WorkflowStatus, target: WorkflowStatus) -> None:
    if target not in MOVES[current]:
        raise InvalidState("workflow", current.value, target.value)


class SegmentFilter(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    """Which leads a scan (or an event) admits; every member optional, all of them ANDed."""

    statuses: LeadStatuses | None = None
    tags_any: Annotated[list[Tag], list_of(TAG_SCHEMA, 50)] | None = None
    tags_all: Annotated[list[Tag], list_of(TAG_SCHEMA, 50)] | None = None
    sources: Annotated[list[Short], list_of(SHORT_SCHEMA, 20)] | None = None
    session_year: Annotated[str, msgspec.Meta(min_length=1, max_length=20)] | None = None
    course_interest: Annotated[list[Short], list_of(SHORT_SCHEMA, 20)] | None = None
    owning_sales_head_ids: Annotated[list[uuid.UUID], list_of(UUID_SCHEMA, 100)] | None = None
    created_within_days: Days | None = None
    no_activity_days: Days | None = None


class ScanTrigger(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    filter: SegmentFilter = msgspec.field(default_factory=SegmentFilter)
    interval_minutes: Annotated[int, msgspec.Meta(ge=15, le=10080)] = 60
    max_per_scan: Annotated[int, msgspec.Meta(ge=1, le=100000)] = 2000
    exit_on_segment_leave: bool = False


class LeadEvent(enum.StrEnum):
    CREATED = "lead.created"
    STATUS_CHANGED = "lead.status_changed"
    ASSIGNED = "lead.assigned"


class EventTrigger(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    events: Annotated[list[LeadEvent], msgspec.Meta(min_length=1, max_length=3)]
    filter: SegmentFilter = msgspec.field(default_factory=SegmentFilter)


class ManualTrigger(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class TriggerSettings(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    """A trigger config as a request carries it: the members of every trigger type's config,
    all optional; ``trigger_config`` reads it as the config of the workflow's trigger type
    (a member that type does not have is refused)."""

    filter: SegmentFilter | None = None
    interval_minutes: Annotated[int, msgspec.Meta(ge=15, le=10080)] | None = None
    max_per_scan: Annotated[int, msgspec.Meta(ge=1, le=100000)] | None = None
    exit_on_segment_leave: bool | None = None
    events: Annotated[list[LeadEvent], msgspec.Meta(min_length=1, max_length=3)] | None = None


TriggerConfig = ScanTrigger | EventTrigger | ManualTrigger
TRIGGER_CONFIGS: dict[TriggerType, type[TriggerConfig]] = {
    TriggerType.SEGMENT_SCAN: ScanTrigger,
    TriggerType.LEAD_EVENT: EventTrigger,
    TriggerType.MANUAL: ManualTrigger,
}


def trigger_config(trigger_type: TriggerType, raw: Any) -> TriggerConfig:
    """The typed config of a trigger type from JSON or ``TriggerSettings``;
    ``msgspec.ValidationError`` when it does not fit."""
    if isinstance(raw, TriggerSettings):
        raw = msgspec.to_builtins(raw)
    return msgspec.convert(raw or {}, TRIGGER_CONFIGS[trigger_type])


class Workflow(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    name: str
    description: str | None
    status: WorkflowStatus
    trigger_type: TriggerType
    trigger_config: dict[str, Any]
    """The trigger's config as JSON (``trigger()`` gives it typed)."""
    draft_graph: dict[str, Any]
    published_version: int | None
    reenroll_policy: ReenrollPolicy
    exit_on_statuses: list[str]
    send_window: SendWindow
    last_scan_at: datetime | None
    created_by: uuid.UUID | None
    updated_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None = None

    def trigger(self) -> TriggerConfig:
        return trigger_config(self.trigger_type, self.trigger_config)


class WorkflowVersion(msgspec.Struct, frozen=True, kw_only=True):
    workflow_id: uuid.UUID
    version: int
    graph: dict[str, Any]
    """The normalised graph (``Graph.to_stored``): what ``load_graph`` reads."""
    published_by: uuid.UUID | None
    published_at: datetime
    checksum: str


class VersionInfo(msgspec.Struct, frozen=True, kw_only=True):
    version: int
    published_by: uuid.UUID | None
    published_at: datetime
    checksum: str


# --- requests -----------------------------------------------------------------------------


class NewWorkflow(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Name
    trigger_type: TriggerType
    trigger_config: TriggerSettings | None = None
    description: Description | None = None
    draft_graph: Canvas | None = None
    reenroll_policy: ReenrollPolicy = ReenrollPolicy.NEVER
    exit_on_statuses: LeadStatuses | None = None
    send_window: SendWindow | None = None


class WorkflowDraft(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A draft save: only the members sent change (``description: null`` clears it)."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    description: Description | None | msgspec.UnsetType = msgspec.UNSET
    trigger_type: TriggerType | msgspec.UnsetType = msgspec.UNSET
    trigger_config: TriggerSettings | msgspec.UnsetType = msgspec.UNSET
    draft_graph: Canvas | msgspec.UnsetType = msgspec.UNSET
    reenroll_policy: ReenrollPolicy | msgspec.UnsetType = msgspec.UNSET
    exit_on_statuses: LeadStatuses | msgspec.UnsetType = msgspec.UNSET
    send_window: SendWindow | msgspec.UnsetType = msgspec.UNSET


# --- views --------------------------------------------------------------------------------


class WorkflowSummary(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    name: str
    description: str | None
    status: WorkflowStatus
    trigger_type: TriggerType
    published_version: int | None
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None
    enrollments: dict[EnrollmentStatus, int]
    """How many of its enrollments are in each status (every status listed, 0 included)."""


class WorkflowDetail(msgspec.Struct, frozen=True, kw_only=True):
    workflow: Workflow
    published: VersionInfo | None
    draft_differs: bool
    """Whether enabling now would publish a new version (the draft is not the published
    graph)."""


class ValidationReport(msgspec.Struct, frozen=True, kw_only=True):
    valid: bool
    issues: list[GraphIssue]
    skipped_checks: list[str] = []
    """Checks this report could not run (the offline CLI has no template catalogue)."""
