"""What the reports part needs: read access to the payment mirror and the invoices (its own
read port, over the other parts' tables), its exports table, a workbook packer, a sealed
password box, the storage, and two other domains' public interfaces (tokens' payouts,
identity's account administration) adapted by its manifest."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from mas.core.finance.audit.ports import AuditUnitOfWork
from mas.core.finance.reports.model import (
    FinanceExport,
    InvoiceLine,
    PaymentLine,
    PayoutLine,
    Period,
    Sheet,
    TeamMember,
)
from mas.core.identity.policy import Caller
from mas.core.platform.paging import Page, PageRequest


class ReportSource(Protocol):
    """Reads ``gst_invoices`` and ``global_payments`` (owned by the invoicing and payments
    parts) for reports; never writes."""

    async def invoice_lines(self, period: Period) -> list[InvoiceLine]:
        """Tax invoices and credit notes numbered in the period (ISSUED or CANCELLED)."""
        ...

    async def payment_lines(self, period: Period, captured_only: bool) -> list[PaymentLine]:
        """Payments captured in the period (``captured_only``: captured or since refunded),
        or created at the gateway in it (every status), each with its invoices' net GST."""
        ...

    async def counts(self) -> tuple[int, int]:
        """(UNMATCHED payments, DRAFT invoices)."""
        ...


class ExportRepository(Protocol):
    async def add(self, export: FinanceExport) -> None: ...

    async def get(self, export_id: uuid.UUID) -> FinanceExport | None: ...

    async def save(self, export: FinanceExport, expected: str) -> bool:
        """Write the row if its status is still ``expected`` (compare-and-set)."""
        ...

    async def count_download(self, export_id: uuid.UUID) -> None: ...

    async def page(self, requested_by: uuid.UUID | None, req: PageRequest) -> Page[FinanceExport]:
        """Newest first; ``requested_by`` None: everyone's."""
        ...

    async def due_to_expire(self, now: datetime, limit: int) -> list[FinanceExport]:
        """READY exports whose ``expires_at`` has passed, oldest first."""
        ...

    async def count_ready(self, now: datetime) -> int: ...


class ReportsUnitOfWork(AuditUnitOfWork, Protocol):
    finance_exports: ExportRepository
    finance_reports: ReportSource


class WorkbookPacker(Protocol):
    async def pack(self, filename: str, sheets: Sequence[Sheet], password: str) -> bytes:
        """An XLSX of ``sheets`` named ``filename``, inside a zip encrypted with ``password``
        (AES-256)."""
        ...


class PayoutSource(Protocol):
    """Mentor payouts completed in a period (the tokens domain's public interface)."""

    async def completed(self, period: Period) -> list[PayoutLine]: ...


class TeamDirectory(Protocol):
    """The FINANCE accounts (identity's account administration)."""

    async def members(self, search: str | None, req: PageRequest) -> Page[TeamMember]: ...

    async def add(self, actor: Caller, email: str, full_name: str | None) -> TeamMember:
        """A new FINANCE account, its password sent by email; ``Conflict`` (email_taken)."""
        ...

    async def remove(self, actor: Caller, user_id: uuid.UUID) -> TeamMember:
        """Take the FINANCE role away (the account becomes a USER); ``NotFound`` when the
        account is not a FINANCE one."""
        ...
