"""The payment mirror's rules (payments-finance.md §3 GlobalPayment, §4).

Gateway fields are a read-only mirror and the gateway status only moves forward
(``created → authorized → captured → refunded``, ``created|authorized → failed``): a payload
that would move it back (a stale page of a sync racing a webhook) changes nothing. Whether a
payload is news is decided here so the sync, the webhook and the verify call agree.
"""

from __future__ import annotations

import enum
import uuid

from mas.core.platform.ports.payments import GatewayPayment, PaymentStatus

_RANK = {
    PaymentStatus.CREATED: 0,
    PaymentStatus.AUTHORIZED: 1,
    PaymentStatus.CAPTURED: 2,
    PaymentStatus.REFUNDED: 3,
    PaymentStatus.FAILED: 2,
}


class PaymentSource(enum.StrEnum):
    TOKEN_PURCHASE = "TOKEN_PURCHASE"
    ENROLLMENT = "ENROLLMENT"
    PAYMENT_LINK = "PAYMENT_LINK"
    UNKNOWN = "UNKNOWN"


class Reconciliation(enum.StrEnum):
    UNMATCHED = "UNMATCHED"
    MATCHED = "MATCHED"
    IGNORED = "IGNORED"


def moves_forward(current: PaymentStatus, new: PaymentStatus) -> bool:
    """Whether the mirror may go from ``current`` to ``new`` (the same status is no move)."""
    if current is new:
        return False
    if current is PaymentStatus.FAILED or new is PaymentStatus.FAILED:
        return new is PaymentStatus.FAILED and current in (
            PaymentStatus.CREATED,
            PaymentStatus.AUTHORIZED,
        )
    return _RANK[new] > _RANK[current]


def is_news(current: PaymentStatus, refunded_paise: int, payload: GatewayPayment) -> bool:
    """Whether ``payload`` changes the mirrored row: a forward status or more money refunded
    (a partial refund keeps ``captured`` but raises the refunded amount)."""
    return moves_forward(current, payload.status) or (
        payload.amount_refunded_paise > refunded_paise
        and payload.status in (PaymentStatus.CAPTURED, PaymentStatus.REFUNDED)
    )


def source_of(payment: GatewayPayment) -> PaymentSource:
    """Where a payment came from, by the notes our own orders carry."""
    if "tokenPurchaseId" in payment.notes:
        return PaymentSource.TOKEN_PURCHASE
    if "enrollmentOrderId" in payment.notes:
        return PaymentSource.ENROLLMENT
    if "paymentLinkId" in payment.notes or "payment_link_id" in payment.notes:
        return PaymentSource.PAYMENT_LINK
    return PaymentSource.UNKNOWN


def note_id(payment: GatewayPayment, name: str) -> uuid.UUID | None:
    """A uuid from the payment's notes, or None when absent or not a uuid (notes are what the
    payer's browser sent to the gateway: never trusted beyond a lookup key)."""
    raw = payment.notes.get(name)
    if raw is None or len(raw) > 64:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None
