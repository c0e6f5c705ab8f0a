"""Persistence port of bulk-assignment requests and the progress of their apply runs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

from mas.core.crm.assignment_model import BulkRequest, RequestStatus
from mas.core.platform.paging import Page, PageRequest


class BulkRequestRepository(Protocol):
    async def add(self, request: BulkRequest) -> None: ...

    async def get(self, request_id: uuid.UUID, *, lock: bool = False) -> BulkRequest | None: ...

    async def save(self, request: BulkRequest) -> None:
        """Write the request's state (its lead and assignee lists never change)."""
        ...

    async def page(
        self, pool_head_id: uuid.UUID | None, status: RequestStatus | None, req: PageRequest
    ) -> Page[BulkRequest]:
        """Newest first; ``lead_ids`` are left empty on list items."""
        ...

    async def applied_leads(
        self, request_id: uuid.UUID, lead_ids: list[uuid.UUID]
    ) -> set[uuid.UUID]:
        """Which of these leads already have a history row of this request."""
        ...

    async def applied_per_assignee(self, request_id: uuid.UUID) -> dict[uuid.UUID, int]: ...

    async def expire_pending(self, request_id: uuid.UUID, now: datetime) -> bool:
        """PENDING -> EXPIRED if still PENDING and past ``expires_at``; False otherwise."""
        ...

    async def due_to_expire(self, now: datetime, limit: int) -> list[uuid.UUID]: ...

    async def idle(self, before: datetime, limit: int) -> list[BulkRequest]:
        """APPROVED or APPLYING requests untouched since ``before`` (a lost apply run)."""
        ...
