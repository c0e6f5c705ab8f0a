"""What the invoicing part needs from storage and from the outside: its repositories, its unit
of work (the audit log's, extended), the payment mirror it reads and the PDF renderer."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Protocol

import msgspec

from mas.core.finance.audit.ports import AuditUnitOfWork
from mas.core.finance.invoicing.invoice import GstInvoice
from mas.core.finance.invoicing.model import InvoiceKind, InvoiceStatus, RateRow, StateCodeRow
from mas.core.finance.payments.ports import PaymentMirrorReader
from mas.core.platform.paging import Page, PageRequest


class InvoiceFilter(msgspec.Struct, frozen=True, kw_only=True):
    status: InvoiceStatus | None = None
    kind: InvoiceKind | None = None
    payment_id: uuid.UUID | None = None
    financial_year: str | None = None


class InvoiceRepository(Protocol):
    async def get(self, invoice_id: uuid.UUID, *, lock: bool = False) -> GstInvoice | None:
        """``lock``: hold the row (FOR UPDATE on PostgreSQL) until the transaction ends."""
        ...

    async def add_drafts(self, drafts: list[GstInvoice]) -> list[GstInvoice]:
        """Insert in one statement; a draft whose payment already has a tax invoice, or whose
        (original invoice, refund) already has a credit note, is skipped. Answers the inserted."""
        ...

    async def tax_invoice_of(self, payment_id: uuid.UUID) -> GstInvoice | None: ...

    async def tax_invoices_of(self, payment_ids: list[uuid.UUID]) -> list[GstInvoice]: ...

    async def credited_paise(self, original_id: uuid.UUID) -> int:
        """The total of the credit notes of ``original_id`` that are not VOID."""
        ...

    async def save(self, invoice: GstInvoice, expected: InvoiceStatus) -> bool:
        """Write ``invoice`` (version + 1) if its row still has ``expected`` status and the
        version it was read at: the compare-and-set every transition goes through."""
        ...

    async def page(self, flt: InvoiceFilter, req: PageRequest) -> Page[GstInvoice]:
        """Newest first."""
        ...


class InvoiceSequenceRepository(Protocol):
    async def take(self, financial_year: str, kind: InvoiceKind, count: int = 1) -> int:
        """Advance the (year, kind) counter by ``count``; answers the last number taken. The
        row stays locked until the transaction ends, so numbers are gapless and never reused:
        a rolled-back issue gives its numbers back with the transaction."""
        ...


class GstMasterRepository(Protocol):
    async def rates(self, code: str | None = None) -> list[RateRow]: ...

    async def rate(self, rate_id: uuid.UUID) -> RateRow | None: ...

    async def lock_code(self, code: str) -> None:
        """Serialize rate changes of one code (PostgreSQL advisory lock; SQLite has one writer)."""
        ...

    async def add_rate(self, row: RateRow, created_by: uuid.UUID | None, now: datetime) -> None: ...

    async def close_rate(self, rate_id: uuid.UUID, effective_to: date, now: datetime) -> None: ...

    async def states(self) -> dict[str, StateCodeRow]: ...

    async def save_state(self, row: StateCodeRow) -> None: ...


class InvoicingUnitOfWork(AuditUnitOfWork, Protocol):
    gst_invoices: InvoiceRepository
    invoice_sequences: InvoiceSequenceRepository
    gst_masters: GstMasterRepository


PaymentReaderOf = Callable[[InvoicingUnitOfWork], PaymentMirrorReader]
"""The payment mirror as read inside an invoicing transaction (the payments part's repository
on the same unit of work)."""


class InvoicePdfRenderer(Protocol):
    async def render(self, invoice: GstInvoice, supplier_name: str) -> bytes:
        """The invoice as a PDF document."""
        ...
