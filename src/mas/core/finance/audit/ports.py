"""What the audit part needs from storage, and the unit of work every finance part extends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from mas.core.finance.audit.chain import ChainedRow
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.uow import UnitOfWork


class AuditLogRepository(Protocol):
    """``gst_audit_log``: insert and read only. On PostgreSQL a trigger refuses UPDATE and
    DELETE of its rows, whatever the application does."""

    async def advance(self, count: int = 1) -> tuple[int, str]:
        """Take the chain's head for this transaction and reserve ``count`` places: the first
        sequence number and the hash of the row before it. The head row is written first, so
        it is locked (PostgreSQL row lock, SQLite write lock) until the transaction ends:
        appends are serialized."""
        ...

    async def append(self, rows: list[ChainedRow]) -> None:
        """Insert ``rows`` (in chain order, one statement) and move the head's hash to the
        last."""
        ...

    def walk(self, batch: int = 1000) -> AsyncIterator[list[ChainedRow]]:
        """Every row in chain order, in batches."""
        ...

    async def page(
        self, entity_type: str | None, entity_id: str | None, req: PageRequest
    ) -> Page[ChainedRow]:
        """Newest first."""
        ...


class AuditUnitOfWork(UnitOfWork, Protocol):
    """Every finance part's unit of work has the audit log: its audit rows commit with the
    change they describe."""

    gst_audit_log: AuditLogRepository
