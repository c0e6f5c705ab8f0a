"""What the definitions part needs from storage and from the rest of the system, and its view
of the unit of work.

``LiveEnrollments`` is the runs part's ledger seen from here (the engine's repository implements
it under the unit-of-work attribute ``workflow_enrollments``): archiving cancels the live
enrollments in the archive's own transaction, enabling a paused workflow resumes its paused
ones, and the list shows counts per status.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.uow import UnitOfWork
from mas.core.workflow.definitions.model import VersionInfo, Workflow, WorkflowVersion
from mas.core.workflow.model import WorkflowStatus


class WorkflowRepository(Protocol):
    async def get(self, workflow_id: uuid.UUID) -> Workflow | None: ...

    async def get_for_update(self, workflow_id: uuid.UUID) -> Workflow | None:
        """The workflow, its row locked until the transaction ends (where the engine locks)."""
        ...

    async def add(self, workflow: Workflow) -> None:
        """Insert; raises ``DuplicateKey`` when a non-archived workflow has the name."""
        ...

    async def save(self, workflow: Workflow, *, seen_updated_at: datetime | None = None) -> bool:
        """Write every field; with ``seen_updated_at``, only if the row still has that
        ``updated_at`` (False when it changed meanwhile). Raises ``DuplicateKey`` on the name."""
        ...

    async def name_taken(self, name: str, *, other_than: uuid.UUID | None = None) -> bool:
        """Whether a non-archived workflow (other than ``other_than``) has this name."""
        ...

    async def page(self, status: WorkflowStatus | None, req: PageRequest) -> Page[Workflow]:
        """Newest first; ``status`` None is every workflow but the archived ones."""
        ...

    async def due_scans(self, now: datetime, limit: int) -> list[Workflow]:
        """ACTIVE SEGMENT_SCAN workflows never scanned, or whose ``last_scan_at`` + their
        ``interval_minutes`` is at or before ``now``; the longest-waiting first."""
        ...

    async def claim_scan(
        self, workflow_id: uuid.UUID, seen_last_scan_at: datetime | None, now: datetime
    ) -> bool:
        """Set ``last_scan_at = now`` if it is still ``seen_last_scan_at`` (compare-and-set:
        of two schedulers racing, one wins)."""
        ...

    async def by_event(self, event: str) -> list[Workflow]:
        """ACTIVE LEAD_EVENT workflows whose trigger lists ``event``."""
        ...


class WorkflowVersionRepository(Protocol):
    async def add(self, version: WorkflowVersion) -> None:
        """Insert; raises ``DuplicateKey`` when the (workflow, version) exists."""
        ...

    async def get(self, workflow_id: uuid.UUID, version: int) -> WorkflowVersion | None: ...

    async def list(self, workflow_id: uuid.UUID) -> list[VersionInfo]:
        """Every published version of the workflow, newest first (without graphs)."""
        ...


class LiveEnrollments(Protocol):
    async def cancel_live(self, workflow_id: uuid.UUID, *, reason: str, at: datetime) -> int:
        """ACTIVE, WAITING and FAILED enrollments → CANCELLED with ``reason``; how many."""
        ...

    async def resume_paused(self, workflow_id: uuid.UUID, *, at: datetime) -> int:
        """Enrollments deferred because the workflow was paused become due at ``at``; how many."""
        ...

    async def status_counts(
        self, workflow_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, dict[str, int]]:
        """Per workflow, how many enrollments are in each status (absent: none)."""
        ...


class TemplateCatalog(Protocol):
    """The communications templates a send node names, checked at publish."""

    async def email_template_active(self, key: str) -> bool:
        """Whether an active email template (or a system mail of the code) has this key."""
        ...

    async def whatsapp_template_approved(self, name: str, language: str) -> bool: ...


class DefinitionsUnitOfWork(UnitOfWork, Protocol):
    workflows: WorkflowRepository
    workflow_versions: WorkflowVersionRepository
    workflow_enrollments: LiveEnrollments
