"""The payments part's domain events (relayed after commit): the invoicing part drafts tax
invoices for captured payments and credit notes for refunds on them."""

from __future__ import annotations

import uuid

from mas.core.platform.events import DomainEvent

MAX_IDS = 1000
"""A sync records one event per page it mirrors, never more ids than this in one."""


class PaymentsCaptured(DomainEvent, frozen=True, kw_only=True):
    """Mirrored payments that became ``captured`` (a sync page, a webhook, a verify call)."""

    subject = "mas.finance.payments_captured"
    payment_ids: list[uuid.UUID]


class PaymentRefunded(DomainEvent, frozen=True, kw_only=True):
    """A mirrored payment's refunded amount grew (a full or partial refund)."""

    subject = "mas.finance.payment_refunded"
    payment_id: uuid.UUID
    refunded_paise: int
    """The payment's total refunded so far."""
    previously_refunded_paise: int
    refund_id: str | None = None
