"""The payment mirror's public model: what the other finance parts read of a payment
(payments-finance.md §3 GlobalPayment). Gateway fields mirror Razorpay; the rest is local.
Below it, what the FINANCE routes take and answer."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec

from mas.core.finance.payments.mirror import PaymentSource, Reconciliation
from mas.core.platform.ports.payments import PaymentStatus


class MirroredPayment(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    razorpay_payment_id: str
    razorpay_order_id: str | None
    amount_paise: int
    amount_refunded_paise: int
    currency: str
    gateway_status: PaymentStatus
    method: str | None
    email: str | None
    contact: str | None
    description: str | None
    notes: dict[str, Any]
    fee_paise: int | None
    fee_tax_paise: int | None
    gateway_created_at: datetime | None
    captured_at: datetime | None
    source: PaymentSource
    reconciliation_status: Reconciliation
    matched_entity_type: str | None
    matched_entity_id: uuid.UUID | None
    user_id: uuid.UUID | None
    ignore_reason: str | None
    synced_at: datetime
    created_at: datetime
    updated_at: datetime
    match_flag: str | None = None
    """Why auto-matching refused (``amount_mismatch``, ``order_mismatch``); the row stays
    UNMATCHED for FINANCE to decide."""


# --- what the routes take and answer -------------------------------------------------------------

MAX_LIST_DAYS = 366
MAX_SYNC_DAYS = 31


class MatchType(enum.StrEnum):
    TOKEN_PURCHASE = "TOKEN_PURCHASE"
    ENROLLMENT = "ENROLLMENT"
    OTHER = "OTHER"


IgnoreReason = Annotated[str, msgspec.Meta(min_length=3, max_length=300, pattern=r"\S")]
EmailQuery = Annotated[str, msgspec.Meta(min_length=1, max_length=254)]


class MatchRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    type: MatchType
    id: uuid.UUID


class IgnoreRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    reason: IgnoreReason


class SyncRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    from_: datetime = msgspec.field(name="from")
    to: datetime


class PaymentFilter(msgspec.Struct, frozen=True, kw_only=True):
    """What the list narrows by (all optional; the range is on the gateway's creation time)."""

    created_from: datetime | None = None
    created_to: datetime | None = None
    status: PaymentStatus | None = None
    source: PaymentSource | None = None
    reconciliation: Reconciliation | None = None
    email: str | None = None


class PaymentDetail(msgspec.Struct, frozen=True, kw_only=True):
    payment: MirroredPayment
    invoice_issued: bool
    """Whether the payment has an ISSUED tax invoice (the match can no longer be undone)."""


class SyncState(msgspec.Struct, frozen=True, kw_only=True):
    """The sync's cursor and lock as FINANCE sees them: how stale the mirror may be."""

    last_synced_to: datetime | None
    running: bool
    running_since: datetime | None
    last_status: str | None
    last_error: str | None
    last_run_at: datetime | None
    last_window_from: datetime | None
    last_window_to: datetime | None
    last_count: int


class SyncQueued(msgspec.Struct, frozen=True, kw_only=True):
    run_id: uuid.UUID
    window_from: datetime
    window_to: datetime
