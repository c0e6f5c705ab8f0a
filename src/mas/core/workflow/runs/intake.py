"""How leads enter workflows (workflow.md §3, §8): segment scans, CRM events and by hand, all
through one set-based statement (``IntakeRepository.enroll_segment``), never a query per lead.

A new enrollment is the engine's contract: ACTIVE on the workflow's published version, at the
node after the trigger, attempt 1, due now. This part only inserts it; the engine's
``release_due`` claims due rows and dispatches their steps (called after the commit here when
``release`` is given, else left to the engine's loop).

Who may enter: a live lead of the segment, not in one of the workflow's exit statuses, with no
live enrollment in the workflow, admitted by the re-enrolment policy (``NEVER``: never enrolled
in it before; ``AFTER_EXIT`` and ``ALWAYS``: none live — see ``mas.adapters.db.workflow.segments``
for why the two admit the same leads while FAILED counts as live).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Protocol

import msgspec

from mas.core.platform.errors import FieldError, InvalidState, NotFound, ValidationFailed
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import UnitOfWork, UnitOfWorkFactory
from mas.core.workflow.definitions.graph import load_graph
from mas.core.workflow.definitions.model import (
    EventTrigger,
    ScanTrigger,
    SegmentFilter,
    Workflow,
    WorkflowVersion,
)
from mas.core.workflow.model import EnrolledVia, ReenrollPolicy, TriggerType, WorkflowStatus

log = logging.getLogger("mas.workflow.intake")

MANUAL_MAX_LEADS = 5_000
SCAN_SPAN = 5_000
"""Leads (of all, matching or not) one scan statement walks; each span commits on its own."""
ENROLL_BATCH = 2_000
"""Lead ids per enrolment statement of a manual enrolment."""
FILTER_MAX = 100_000
"""A manual enrolment by filter enrols at most this many (the largest ``max_per_scan``)."""
DUE_SCANS_PER_TICK = 50


class SegmentLike(Protocol):
    """What a segment filter says (``SegmentFilter``; every field optional)."""

    @property
    def statuses(self) -> Sequence[Any] | None: ...
    @property
    def tags_any(self) -> Sequence[str] | None: ...
    @property
    def tags_all(self) -> Sequence[str] | None: ...
    @property
    def sources(self) -> Sequence[Any] | None: ...
    @property
    def session_year(self) -> str | None: ...
    @property
    def course_interest(self) -> Any: ...
    @property
    def owning_sales_head_ids(self) -> Sequence[uuid.UUID] | None: ...
    @property
    def created_within_days(self) -> int | None: ...
    @property
    def no_activity_days(self) -> int | None: ...


class NewEnrollments(msgspec.Struct, frozen=True, kw_only=True):
    """What every enrollment one call inserts shares."""

    workflow_id: uuid.UUID
    version: int
    first_node_id: str
    via: EnrolledVia
    by: uuid.UUID | None
    policy: ReenrollPolicy
    exit_statuses: tuple[str, ...]
    at: datetime


class Enrolled(msgspec.Struct, frozen=True, kw_only=True):
    """One batch: how many entered, their ids when few, and the last lead id its span covered
    (None: the walk reached the last lead)."""

    count: int
    ids: list[uuid.UUID]
    cursor: uuid.UUID | None


@dataclass
class LeadVerdicts:
    """Lead ids sorted by what a manual enrolment would do with them."""

    eligible: list[uuid.UUID] = field(default_factory=list)
    live: list[uuid.UUID] = field(default_factory=list)
    refused: list[uuid.UUID] = field(default_factory=list)
    exit_status: list[uuid.UUID] = field(default_factory=list)
    missing: list[uuid.UUID] = field(default_factory=list)


class IntakeRepository(Protocol):
    async def enroll_segment(
        self,
        new: NewEnrollments,
        flt: SegmentLike | None,
        *,
        limit: int,
        lead_ids: Sequence[uuid.UUID] | None = None,
        after: uuid.UUID | None = None,
        span: int | None = None,
    ) -> Enrolled: ...

    async def verdicts(
        self, new: NewEnrollments, lead_ids: Sequence[uuid.UUID]
    ) -> LeadVerdicts: ...

    async def matches(self, flt: SegmentLike | None, lead_id: uuid.UUID, now: datetime) -> bool: ...

    async def live_workflows_of(self, lead_id: uuid.UUID) -> list[uuid.UUID]: ...

    async def exit_live(
        self,
        lead_id: uuid.UUID,
        *,
        reason: str,
        at: datetime,
        workflow_ids: Sequence[uuid.UUID] | None = None,
    ) -> int: ...

    async def first_time(self, key: str, at: datetime) -> bool: ...


class WorkflowLookup(Protocol):
    """The definitions part's ``workflows`` repository, as far as intake reads it."""

    async def get(self, workflow_id: uuid.UUID) -> Workflow | None: ...
    async def get_for_update(self, workflow_id: uuid.UUID) -> Workflow | None: ...
    async def due_scans(self, now: datetime, limit: int) -> list[Workflow]: ...
    async def claim_scan(
        self, workflow_id: uuid.UUID, seen_last_scan_at: datetime | None, now: datetime
    ) -> bool: ...
    async def by_event(self, event: str) -> list[Workflow]: ...


class VersionLookup(Protocol):
    async def get(self, workflow_id: uuid.UUID, version: int) -> WorkflowVersion | None: ...


class IntakeUnitOfWork(UnitOfWork, Protocol):
    workflows: WorkflowLookup
    workflow_versions: VersionLookup
    workflow_intake: IntakeRepository


LeadIds = Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=MANUAL_MAX_LEADS)]


class EnrollRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Either ``lead_ids`` (1..5000) or a segment ``filter`` (enrols at most 100,000)."""

    lead_ids: LeadIds | None = None
    filter: SegmentFilter | None = None


class EnrollCounts(msgspec.Struct, frozen=True, kw_only=True):
    enrolled: int
    skipped_already_enrolled: int = 0
    """Live in the workflow already (or enrolled by a concurrent call meanwhile)."""
    skipped_policy: int = 0
    """Refused by the re-enrolment policy (``NEVER``: enrolled before)."""
    skipped_exit_status: int = 0
    """In a status the workflow exits on."""
    not_found: int = 0
    """No such lead, or deleted."""


class ScanReport(msgspec.Struct, frozen=True, kw_only=True):
    workflow_id: uuid.UUID
    enrolled: int
    batches: int
    capped: bool
    """``max_per_scan`` was reached: the rest waits for the next scan."""


Release = Callable[[], Awaitable[Any]]


def _request_error(message: str) -> ValidationFailed:
    return ValidationFailed(message, code="enroll_target", errors=[FieldError("lead_ids", message)])


class Intake:
    """Enrolment by scan, by event and by hand (see the module)."""

    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory[IntakeUnitOfWork],
        clock: Clock,
        release: Release | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._release = release

    async def _new(
        self, uow: IntakeUnitOfWork, workflow: Workflow, via: EnrolledVia, by: uuid.UUID | None
    ) -> NewEnrollments | None:
        """What the workflow's new enrollments take; None when its graph runs nothing."""
        if workflow.published_version is None:
            return None
        version = await uow.workflow_versions.get(workflow.id, workflow.published_version)
        if version is None:
            raise RuntimeError(f"workflow {workflow.id} lost version {workflow.published_version}")
        first = load_graph(version.graph).first()
        if first is None:
            return None
        return NewEnrollments(
            workflow_id=workflow.id,
            version=version.version,
            first_node_id=first,
            via=via,
            by=by,
            policy=ReenrollPolicy(workflow.reenroll_policy),
            exit_statuses=tuple(sorted(_texts(workflow.exit_on_statuses))),
            at=self._clock.now(),
        )

    async def _released(self) -> None:
        if self._release is not None:
            await self._release()

    async def _enroll_all(
        self,
        workflow: Workflow,
        flt: SegmentLike | None,
        cap: int,
        via: EnrolledVia,
        by: uuid.UUID | None,
    ) -> ScanReport:
        """Enrol the segment span by span (``SCAN_SPAN`` leads each), each its own transaction."""
        total = batches = 0
        after: uuid.UUID | None = None
        while total < cap:
            async with self._uow() as uow:
                # Locked and read again per span: an archive (or a pause, for a scan) waits for
                # the span in progress and stops the ones after it.
                current = await uow.workflows.get_for_update(workflow.id)
                if current is None or not _admits(current, via):
                    break
                new = await self._new(uow, current, via, by)
                if new is None:
                    break
                found = await uow.workflow_intake.enroll_segment(
                    new, flt, limit=cap - total, after=after, span=SCAN_SPAN
                )
                await uow.commit()
            total += found.count
            batches += 1
            if found.cursor is None:
                break
            after = found.cursor
        return ScanReport(
            workflow_id=workflow.id, enrolled=total, batches=batches, capped=total >= cap
        )

    # --- scans -------------------------------------------------------------------------------

    async def scan_due(self) -> list[ScanReport]:
        """The ``workflow.scan`` cron: every ACTIVE scan workflow whose interval has passed,
        claimed by compare-and-set on ``last_scan_at`` (a second scheduler tick finds it taken)."""
        now = self._clock.now()
        async with self._uow() as uow:
            due = await uow.workflows.due_scans(now, DUE_SCANS_PER_TICK)
        reports = []
        for workflow in due:
            async with self._uow() as uow:
                claimed = await uow.workflows.claim_scan(workflow.id, workflow.last_scan_at, now)
                await uow.commit()
            if claimed:
                reports.append(await self._scan(workflow))
        if any(report.enrolled for report in reports):
            await self._released()
        return reports

    async def _scan(self, workflow: Workflow) -> ScanReport:
        trigger = workflow.trigger()
        assert isinstance(trigger, ScanTrigger)
        report = await self._enroll_all(
            workflow, trigger.filter, trigger.max_per_scan, EnrolledVia.SCAN, None
        )
        log.info(
            "workflow.scanned",
            extra={"workflow_id": str(workflow.id), "enrolled": report.enrolled},
        )
        return report

    async def run_scan(self, workflow_id: uuid.UUID) -> ScanReport:
        """An on-demand scan (409 unless an ACTIVE segment-scan workflow)."""
        now = self._clock.now()
        async with self._uow() as uow:
            workflow = await uow.workflows.get(workflow_id)
            if workflow is None:
                raise NotFound("workflow not found", code="workflow_not_found")
            if workflow.trigger_type != TriggerType.SEGMENT_SCAN:
                raise InvalidState("workflow trigger", str(workflow.trigger_type), "scan")
            if workflow.status != WorkflowStatus.ACTIVE:
                raise InvalidState("workflow", str(workflow.status), "scan")
            await uow.workflows.claim_scan(workflow.id, workflow.last_scan_at, now)
            await uow.commit()
        report = await self._scan(workflow)
        if report.enrolled:
            await self._released()
        return report

    # --- by hand -----------------------------------------------------------------------------

    async def enroll(
        self, workflow_id: uuid.UUID, request: EnrollRequest, *, by: uuid.UUID | None
    ) -> EnrollCounts:
        """Manual enrolment by ids or by filter (409 into a DRAFT or ARCHIVED workflow)."""
        if (request.lead_ids is None) == (request.filter is None):
            raise _request_error("give either lead_ids or filter")
        async with self._uow() as uow:
            workflow = await uow.workflows.get_for_update(workflow_id)
            if workflow is None:
                raise NotFound("workflow not found", code="workflow_not_found")
            if not _admits(workflow, EnrolledVia.MANUAL):
                raise InvalidState("workflow", str(workflow.status), "enroll")
            if request.lead_ids is not None:
                counts = await self._enroll_ids(uow, workflow, request.lead_ids, by)
                await uow.commit()
        if request.lead_ids is None:
            report = await self._enroll_all(
                workflow, request.filter, FILTER_MAX, EnrolledVia.MANUAL, by
            )
            counts = EnrollCounts(enrolled=report.enrolled)
        if counts.enrolled:
            await self._released()
        return counts

    async def _enroll_ids(
        self,
        uow: IntakeUnitOfWork,
        workflow: Workflow,
        lead_ids: Sequence[uuid.UUID],
        by: uuid.UUID | None,
    ) -> EnrollCounts:
        ids = list(dict.fromkeys(lead_ids))
        new = await self._new(uow, workflow, EnrolledVia.MANUAL, by)
        if new is None:
            raise InvalidState("workflow", "without runnable nodes", "enroll")
        verdict = await uow.workflow_intake.verdicts(new, ids)
        enrolled = 0
        for start in range(0, len(verdict.eligible), ENROLL_BATCH):
            chunk = verdict.eligible[start : start + ENROLL_BATCH]
            found = await uow.workflow_intake.enroll_segment(
                new, None, limit=len(chunk), lead_ids=chunk
            )
            enrolled += found.count
        return EnrollCounts(
            enrolled=enrolled,
            skipped_already_enrolled=len(verdict.live) + len(verdict.eligible) - enrolled,
            skipped_policy=len(verdict.refused),
            skipped_exit_status=len(verdict.exit_status),
            not_found=len(verdict.missing),
        )

    # --- CRM events --------------------------------------------------------------------------

    async def on_lead_event(
        self,
        key: str,
        lead_id: uuid.UUID,
        *,
        event: str | None = None,
        status: str | None = None,
        deleted: bool = False,
    ) -> tuple[int, int]:
        """React to one CRM event, once per ``key`` (a redelivered event does nothing):

        * ``deleted``: EXIT every live enrollment of the lead (reason ``lead_deleted``);
        * ``status``: the lead's new status — EXIT its live enrollments in workflows that exit
          on it (reason ``lead_status:<S>``);
        * ``event``: enrol it into the ACTIVE ``LEAD_EVENT`` workflows listening to ``event``
          whose filter it matches.

        Returns (enrolled, exited). An exit moves ``lock_version`` on, so a step job already
        queued for the enrollment does nothing.
        """
        enrolled = exited = 0
        now = self._clock.now()
        async with self._uow() as uow:
            if not await uow.workflow_intake.first_time(key, now):
                return 0, 0
            intake = uow.workflow_intake
            if deleted:
                exited = await intake.exit_live(lead_id, reason="lead_deleted", at=now)
            elif status is not None:
                exiting = []
                for workflow_id in await intake.live_workflows_of(lead_id):
                    workflow = await uow.workflows.get(workflow_id)
                    if workflow is not None and status in _texts(workflow.exit_on_statuses):
                        exiting.append(workflow_id)
                if exiting:
                    exited = await intake.exit_live(
                        lead_id, reason=f"lead_status:{status}", at=now, workflow_ids=exiting
                    )
            if event is not None and not deleted:
                for workflow in await uow.workflows.by_event(event):
                    trigger = workflow.trigger()
                    if not isinstance(trigger, EventTrigger):
                        continue
                    new = await self._new(uow, workflow, EnrolledVia.EVENT, None)
                    if new is None:
                        continue
                    found = await intake.enroll_segment(
                        new, trigger.filter, limit=1, lead_ids=[lead_id]
                    )
                    enrolled += found.count
            await uow.commit()
        if enrolled:
            await self._released()
        return enrolled, exited


def _admits(workflow: Workflow, via: EnrolledVia) -> bool:
    """Whether the workflow takes new enrollments this way: by hand unless DRAFT or ARCHIVED
    (a PAUSED one holds them until enabled), otherwise only while ACTIVE."""
    if via is EnrolledVia.MANUAL:
        return workflow.status not in (WorkflowStatus.DRAFT, WorkflowStatus.ARCHIVED)
    return workflow.status is WorkflowStatus.ACTIVE


def _texts(values: Sequence[Any]) -> set[str]:
    return {str(getattr(value, "value", value)) for value in values}
