"""What the payments part needs from storage and from other domains, and what it offers the
other finance parts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

import msgspec

from mas.core.finance.audit.ports import AuditUnitOfWork
from mas.core.finance.payments.mirror import PaymentSource, Reconciliation
from mas.core.finance.payments.model import MirroredPayment, PaymentFilter, SyncState
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.payments import PaymentStatus


class PaymentMirrorReader(Protocol):
    """The part of ``global_payments`` the invoicing and reports parts read."""

    async def get(self, payment_id: uuid.UUID) -> MirroredPayment | None: ...

    async def many(self, payment_ids: list[uuid.UUID]) -> list[MirroredPayment]: ...


class InvoiceState(Protocol):
    """Implemented by the invoicing part: whether a payment has an ISSUED tax invoice (a
    match may not be undone then)."""

    async def has_issued(self, uow: AuditUnitOfWork, payment_id: uuid.UUID) -> bool: ...


class NoInvoices:
    """``InvoiceState`` until the invoicing part wires its own: no payment has an invoice."""

    async def has_issued(self, uow: AuditUnitOfWork, payment_id: uuid.UUID) -> bool:
        del uow, payment_id
        return False


class PurchaseFacts(Protocol):
    """What the mirror reads of a token purchase (the tokens domain's public interface)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def user_id(self) -> uuid.UUID: ...
    @property
    def razorpay_order_id(self) -> str | None: ...
    @property
    def amount_paise(self) -> int: ...
    @property
    def currency(self) -> str: ...


class TokenPurchaseLookup(Protocol):
    """The tokens domain's purchases as the mirror may read them (never its tables)."""

    async def facts(self, purchase_ids: list[uuid.UUID]) -> Sequence[PurchaseFacts]:
        """The purchases among these ids that exist."""
        ...


class MatchDecision(msgspec.Struct, frozen=True, kw_only=True):
    """Auto-matching's verdict on a payment still UNMATCHED: matched to an entity, or a flag."""

    razorpay_payment_id: str
    reconciliation_status: Reconciliation
    matched_entity_type: str | None = None
    matched_entity_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    match_flag: str | None = None


class MirrorWrite(msgspec.Struct, frozen=True, kw_only=True):
    """One gateway payment as the upsert writes it (gateway fields and the source)."""

    id: uuid.UUID
    """The row's id when it is new (kept otherwise)."""
    razorpay_payment_id: str
    razorpay_order_id: str | None
    razorpay_invoice_id: str | None
    amount_paise: int
    amount_refunded_paise: int
    currency: str
    gateway_status: PaymentStatus
    method: str | None
    email: str | None
    contact: str | None
    description: str | None
    notes: dict[str, str]
    fee_paise: int | None
    fee_tax_paise: int | None
    gateway_created_at: datetime | None
    captured_at: datetime | None
    raw: dict[str, Any]
    source: PaymentSource
    synced_at: datetime
    match: MatchDecision | None = None
    """Auto-matching's verdict, written with the row when it is new (an existing row gets it
    from ``apply_matches``, only while UNMATCHED)."""


class Written(msgspec.Struct, frozen=True, kw_only=True):
    """A row the upsert inserted or moved: what it holds now and what it held before."""

    id: uuid.UUID
    razorpay_payment_id: str
    gateway_status: PaymentStatus
    amount_refunded_paise: int
    previous_status: PaymentStatus | None
    """None: the row is new."""
    previous_refunded_paise: int


class GlobalPaymentRepository(PaymentMirrorReader, Protocol):
    async def upsert(self, rows: list[MirrorWrite]) -> list[Written]:
        """Insert new payments and move existing ones, set-based: a row changes only when the
        status moves forward or the refunded amount grows (a stale payload changes nothing).
        ``previous_*`` is what the rows held when this transaction read them (a concurrent
        writer can only make it understate the row: a change may be reported twice, never
        missed)."""
        ...

    async def apply_matches(self, decisions: list[MatchDecision], now: datetime) -> int:
        """Apply auto-match verdicts to the rows still UNMATCHED (a MATCHED or IGNORED row
        keeps FINANCE's decision); how many rows became MATCHED."""
        ...

    async def lock(self, payment_id: uuid.UUID) -> MirroredPayment | None:
        """Read the row held for this transaction."""
        ...

    async def save_reconciliation(self, payment: MirroredPayment, expected: Reconciliation) -> bool:
        """Write the local fields if the row is still ``expected`` (a compare-and-set)."""
        ...

    async def page(self, flt: PaymentFilter, req: PageRequest) -> Page[MirroredPayment]:
        """Newest gateway payments first."""
        ...

    async def count(self) -> int: ...


class SyncStateRepository(Protocol):
    """The sync's one state row: the cursor and the lock."""

    async def read(self, now: datetime) -> SyncState: ...

    async def acquire(self, holder: str, now: datetime, lease_s: float) -> bool:
        """Take the lock when nobody holds it or the holder's lease lapsed."""
        ...

    async def finish(
        self,
        holder: str,
        now: datetime,
        *,
        status: str,
        error: str | None,
        window: tuple[datetime, datetime] | None,
        count: int,
        advance_to: datetime | None,
    ) -> None:
        """Release the lock (if ``holder`` still has it), record the run's outcome and move the
        cursor forward to ``advance_to`` (never back)."""
        ...


class PaymentsUnitOfWork(AuditUnitOfWork, Protocol):
    global_payments: GlobalPaymentRepository
    global_payment_sync: SyncStateRepository


__all__ = [
    "GlobalPaymentRepository",
    "InvoiceState",
    "MatchDecision",
    "MirrorWrite",
    "NoInvoices",
    "PaymentMirrorReader",
    "PaymentSource",
    "PaymentsUnitOfWork",
    "PurchaseFacts",
    "SyncStateRepository",
    "TokenPurchaseLookup",
    "Written",
]
