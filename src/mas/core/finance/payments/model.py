"""The payment mirror's public model: what the other finance parts read of a payment
(payments-finance.md §3 GlobalPayment). Gateway fields mirror Razorpay; the rest is local."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

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
