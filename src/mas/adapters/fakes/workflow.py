"""In-memory fakes of the workflow definitions part's ports: its repositories, the live
enrollments seen from it, the template catalogue, and its unit of work (rolls back unless
committed, by restoring a copy of the store taken on entry)."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import TracebackType
from typing import Self

import msgspec

from mas.core.platform.events import DomainEvent
from mas.core.platform.messages import OutboxMessage
from mas.core.platform.paging import Page, PageRequest, page_of
from mas.core.platform.ports.uow import DuplicateKey
from mas.core.workflow.definitions.model import VersionInfo, Workflow, WorkflowVersion
from mas.core.workflow.definitions.ports import (
    LiveEnrollments,
    WorkflowRepository,
    WorkflowVersionRepository,
)
from mas.core.workflow.model import LIVE, EnrollmentStatus, TriggerType, WorkflowStatus


@dataclass
class DefinitionsStore:
    workflows: dict[uuid.UUID, Workflow] = field(default_factory=dict)
    versions: dict[tuple[uuid.UUID, int], WorkflowVersion] = field(default_factory=dict)
    enrollments: dict[uuid.UUID, list[EnrollmentStatus]] = field(default_factory=dict)
    """Per workflow, the status of each of its enrollments."""
    cancel_reasons: list[tuple[uuid.UUID, str]] = field(default_factory=list)
    resumed: list[uuid.UUID] = field(default_factory=list)
    commits: int = 0


def _version_info(version: WorkflowVersion) -> VersionInfo:
    return VersionInfo(
        version=version.version,
        published_by=version.published_by,
        published_at=version.published_at,
        checksum=version.checksum,
    )


class FakeWorkflows:
    def __init__(self, store: DefinitionsStore) -> None:
        self._store = store

    async def get(self, workflow_id: uuid.UUID) -> Workflow | None:
        return self._store.workflows.get(workflow_id)

    async def get_for_update(self, workflow_id: uuid.UUID) -> Workflow | None:
        return self._store.workflows.get(workflow_id)

    async def add(self, workflow: Workflow) -> None:
        if await self.name_taken(workflow.name):
            raise DuplicateKey(workflow.name)
        self._store.workflows[workflow.id] = workflow

    async def save(self, workflow: Workflow, *, seen_updated_at: datetime | None = None) -> bool:
        current = self._store.workflows.get(workflow.id)
        if current is None:
            return False
        if seen_updated_at is not None and current.updated_at != seen_updated_at:
            return False
        if workflow.status is not WorkflowStatus.ARCHIVED and await self.name_taken(
            workflow.name, other_than=workflow.id
        ):
            raise DuplicateKey(workflow.name)
        self._store.workflows[workflow.id] = workflow
        return True

    async def name_taken(self, name: str, *, other_than: uuid.UUID | None = None) -> bool:
        return any(
            w.name == name and w.status is not WorkflowStatus.ARCHIVED and w.id != other_than
            for w in self._store.workflows.values()
        )

    async def page(self, status: WorkflowStatus | None, req: PageRequest) -> Page[Workflow]:
        found = [
            w
            for w in self._store.workflows.values()
            if (w.status is not WorkflowStatus.ARCHIVED if status is None else w.status is status)
        ]
        found.sort(key=lambda w: (w.created_at, w.id), reverse=True)
        return page_of(found, req)

    async def due_scans(self, now: datetime, limit: int) -> list[Workflow]:
        def due_at(w: Workflow) -> datetime | None:
            if w.last_scan_at is None:
                return None
            minutes = int(w.trigger_config.get("interval_minutes", 60))
            return w.last_scan_at + timedelta(minutes=minutes)

        due = [
            w
            for w in self._store.workflows.values()
            if w.status is WorkflowStatus.ACTIVE
            and w.trigger_type is TriggerType.SEGMENT_SCAN
            and ((at := due_at(w)) is None or at <= now)
        ]
        due.sort(key=lambda w: (due_at(w) is not None, due_at(w) or now, w.id))
        return due[:limit]

    async def claim_scan(
        self, workflow_id: uuid.UUID, seen_last_scan_at: datetime | None, now: datetime
    ) -> bool:
        current = self._store.workflows.get(workflow_id)
        if current is None or current.last_scan_at != seen_last_scan_at:
            return False
        self._store.workflows[workflow_id] = msgspec.structs.replace(current, last_scan_at=now)
        return True

    async def by_event(self, event: str) -> list[Workflow]:
        return sorted(
            (
                w
                for w in self._store.workflows.values()
                if w.status is WorkflowStatus.ACTIVE
                and w.trigger_type is TriggerType.LEAD_EVENT
                and event in (w.trigger_config.get("events") or [])
            ),
            key=lambda w: (w.created_at, w.id),
        )


class FakeWorkflowVersions:
    def __init__(self, store: DefinitionsStore) -> None:
        self._store = store

    async def add(self, version: WorkflowVersion) -> None:
        key = (version.workflow_id, version.version)
        if key in self._store.versions:
            raise DuplicateKey(f"{key}")
        self._store.versions[key] = version

    async def get(self, workflow_id: uuid.UUID, version: int) -> WorkflowVersion | None:
        return self._store.versions.get((workflow_id, version))

    async def list(self, workflow_id: uuid.UUID) -> list[VersionInfo]:
        found = [v for (wid, _), v in self._store.versions.items() if wid == workflow_id]
        return [_version_info(v) for v in sorted(found, key=lambda v: -v.version)]


class FakeLiveEnrollments:
    """The runs part's ledger reduced to what definitions asks of it: statuses per workflow."""

    def __init__(self, store: DefinitionsStore) -> None:
        self._store = store

    async def cancel_live(self, workflow_id: uuid.UUID, *, reason: str, at: datetime) -> int:
        statuses = self._store.enrollments.get(workflow_id, [])
        live = [i for i, s in enumerate(statuses) if s in LIVE]
        for index in live:
            statuses[index] = EnrollmentStatus.CANCELLED
        self._store.cancel_reasons.append((workflow_id, reason))
        return len(live)

    async def resume_paused(self, workflow_id: uuid.UUID, *, at: datetime) -> int:
        self._store.resumed.append(workflow_id)
        statuses = self._store.enrollments.get(workflow_id, [])
        return sum(1 for s in statuses if s is EnrollmentStatus.WAITING)

    async def status_counts(
        self, workflow_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, dict[str, int]]:
        counts: dict[uuid.UUID, dict[str, int]] = {}
        for workflow_id in workflow_ids:
            for status in self._store.enrollments.get(workflow_id, []):
                per = counts.setdefault(workflow_id, {})
                per[status.value] = per.get(status.value, 0) + 1
        return counts


class FakeTemplateCatalog:
    def __init__(
        self,
        emails: set[str] | None = None,
        whatsapp: set[tuple[str, str]] | None = None,
    ) -> None:
        self.emails = emails or set()
        self.whatsapp = whatsapp or set()
        self.asked = 0

    async def email_template_active(self, key: str) -> bool:
        self.asked += 1
        return key in self.emails

    async def whatsapp_template_approved(self, name: str, language: str) -> bool:
        self.asked += 1
        return (name, language) in self.whatsapp


class FakeDefinitionsUnitOfWork:
    def __init__(self, store: DefinitionsStore) -> None:
        self._store = store
        self._before: DefinitionsStore | None = None
        self.workflows: WorkflowRepository = FakeWorkflows(store)
        self.workflow_versions: WorkflowVersionRepository = FakeWorkflowVersions(store)
        self.workflow_enrollments: LiveEnrollments = FakeLiveEnrollments(store)

    async def __aenter__(self) -> Self:
        self._before = copy.deepcopy(self._store)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.rollback()

    async def commit(self) -> None:
        self._store.commits += 1
        self._before = None

    async def rollback(self) -> None:
        if self._before is not None:
            restored = self._before
            self._store.workflows = restored.workflows
            self._store.versions = restored.versions
            self._store.enrollments = restored.enrollments
            self._store.cancel_reasons = restored.cancel_reasons
            self._store.resumed = restored.resumed
        self._before = None

    def record(self, event: DomainEvent) -> None:
        raise NotImplementedError("the definitions part records no events")

    async def send(self, message: OutboxMessage) -> uuid.UUID:
        raise NotImplementedError("the definitions part sends no messages")
