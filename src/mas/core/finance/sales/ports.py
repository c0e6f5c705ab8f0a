"""What the sales part needs from storage and from the domains that do not exist yet (the
LMS's batch fees, Mr. Hire's job owners), and its view of the unit of work."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

from mas.core.finance.audit.ports import AuditUnitOfWork
from mas.core.finance.sales.model import (
    CostTotal,
    Decision,
    DiscountRequest,
    DiscountStatus,
    PipelineCostEntry,
)
from mas.core.platform.paging import Page, PageRequest


class DiscountRepository(Protocol):
    async def add(self, request: DiscountRequest) -> None:
        """Insert; raises ``DuplicateKey`` when the student already has an active (PENDING or
        APPROVED) request for the batch (a partial unique index)."""
        ...

    async def get(self, request_id: uuid.UUID) -> DiscountRequest | None: ...

    async def move(
        self,
        request_id: uuid.UUID,
        current: DiscountStatus,
        target: DiscountStatus,
        decision: Decision,
        now: datetime,
    ) -> DiscountRequest | None:
        """CAS on (id, status): None when the request was no longer ``current``."""
        ...

    async def active(self, student_email: str, batch_id: uuid.UUID) -> DiscountRequest | None:
        """The PENDING or APPROVED request of the student for the batch."""
        ...

    async def list(
        self,
        requested_by: list[uuid.UUID] | None,
        status: DiscountStatus | None,
        req: PageRequest,
    ) -> Page[DiscountRequest]:
        """Newest first; ``requested_by`` None is everyone's."""
        ...

    async def expire(self, pending_before: datetime, now: datetime) -> int:
        """PENDING created before ``pending_before`` and APPROVED past ``valid_until`` →
        EXPIRED (one predicate update each); how many."""
        ...


class CostLedgerRepository(Protocol):
    async def add(self, entry: PipelineCostEntry) -> bool:
        """Insert unless the idempotency key is taken (never an error that aborts the
        transaction); whether it was inserted."""
        ...

    async def by_key(self, key: str) -> PipelineCostEntry | None: ...

    async def of_job(self, job_id: uuid.UUID, limit: int) -> list[PipelineCostEntry]: ...

    async def totals(
        self, group_by: str, start: datetime, end: datetime, job_id: uuid.UUID | None
    ) -> list[CostTotal]:
        """Sums grouped by ``stage``, ``provider`` or ``job`` (SQL aggregates)."""
        ...


class BatchFees(Protocol):
    """The LMS's batches: a batch's fee in paise (None when there is no such batch)."""

    async def fee_of(self, batch_id: uuid.UUID) -> int | None: ...


class NoBatchFees:
    """The catalogue while no LMS exists: there is no batch, so a request names none (404)."""

    async def fee_of(self, batch_id: uuid.UUID) -> int | None:
        return None


class JobOwners(Protocol):
    """Mr. Hire's recruitment jobs: who owns a job (None when there is no such job)."""

    async def owner_of(self, job_id: uuid.UUID) -> uuid.UUID | None: ...


class NoJobs:
    """The directory while Mr. Hire is not built: no HR user owns a job (ADMIN reads all)."""

    async def owner_of(self, job_id: uuid.UUID) -> uuid.UUID | None:
        return None


class SalesTeamRoster(Protocol):
    """The CRM's teams, read: the users a SALES_HEAD leads today."""

    async def members_of(self, head_id: uuid.UUID) -> list[uuid.UUID]: ...


class SalesUnitOfWork(AuditUnitOfWork, Protocol):
    discount_requests: DiscountRepository
    pipeline_cost_ledger: CostLedgerRepository
    sales_team_roster: SalesTeamRoster
