"""Razorpay's documents (orders, payments, collections, webhook events) and their port views.

Shared by the Razorpay adapter (which reads them off the wire) and ``FakeGateway`` (which writes
its webhooks in the same shape, so the route and its parser are exercised as in production).
Razorpay's quirks kept here: an empty ``notes`` is sent as ``[]``, amounts are integer paise,
times are Unix seconds, and a webhook names its entities in ``payload.<entity>.entity``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

from mas.core.platform.ports.payments import (
    BadWebhookBody,
    GatewayEvent,
    GatewayOrder,
    GatewayPayment,
    OrderStatus,
    PaymentStatus,
)

MAX_NOTE = 256


def _notes(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}  # Razorpay writes an empty notes object as []
    return {str(k)[:MAX_NOTE]: str(v)[:MAX_NOTE] for k, v in list(value.items())[:15]}


def _time(value: Any) -> datetime | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**33:
        return datetime.fromtimestamp(value, UTC)
    return None


class RazorpayOrder(msgspec.Struct, kw_only=True):
    id: str
    amount: int
    currency: str = "INR"
    status: str = "created"
    receipt: str | None = None
    amount_paid: int = 0
    attempts: int = 0
    notes: Any = None
    created_at: int | None = None

    def view(self) -> GatewayOrder:
        try:
            status = OrderStatus(self.status)
        except ValueError:
            raise msgspec.ValidationError(f"unknown order status {self.status!r}") from None
        return GatewayOrder(
            id=self.id,
            amount_paise=self.amount,
            currency=self.currency,
            status=status,
            receipt=self.receipt,
            amount_paid_paise=self.amount_paid,
            attempts=self.attempts,
            notes=_notes(self.notes),
            created_at=_time(self.created_at),
        )


class RazorpayPayment(msgspec.Struct, kw_only=True):
    id: str
    amount: int
    currency: str = "INR"
    status: str = "created"
    order_id: str | None = None
    method: str | None = None
    email: str | None = None
    contact: str | None = None
    description: str | None = None
    amount_refunded: int = 0
    fee: int | None = None
    tax: int | None = None
    error_code: str | None = None
    error_description: str | None = None
    notes: Any = None
    created_at: int | None = None

    def view(self) -> GatewayPayment:
        try:
            status = PaymentStatus(self.status)
        except ValueError:
            raise msgspec.ValidationError(f"unknown payment status {self.status!r}") from None
        return GatewayPayment(
            id=self.id,
            amount_paise=self.amount,
            currency=self.currency,
            status=status,
            order_id=self.order_id,
            method=self.method,
            email=self.email,
            contact=self.contact,
            description=self.description,
            amount_refunded_paise=self.amount_refunded,
            fee_paise=self.fee,
            fee_tax_paise=self.tax,
            error_code=self.error_code,
            error_description=self.error_description,
            notes=_notes(self.notes),
            created_at=_time(self.created_at),
        )


class PaymentCollection(msgspec.Struct):
    items: list[RazorpayPayment]
    count: int = 0


class _OrderWrapper(msgspec.Struct):
    entity: RazorpayOrder


class _PaymentWrapper(msgspec.Struct):
    entity: RazorpayPayment


class _Payload(msgspec.Struct):
    payment: _PaymentWrapper | None = None
    order: _OrderWrapper | None = None


class RazorpayEvent(msgspec.Struct, kw_only=True):
    event: str
    payload: _Payload = msgspec.field(default_factory=_Payload)
    entity: str = "event"
    contains: list[str] = []
    created_at: int | None = None


def decode_event(raw_body: bytes) -> GatewayEvent:
    try:
        event = msgspec.json.decode(raw_body, type=RazorpayEvent)
        payload = event.payload
        return GatewayEvent(
            event=event.event[:100],
            payment=payload.payment.entity.view() if payload.payment else None,
            order=payload.order.entity.view() if payload.order else None,
            created_at=_time(event.created_at),
        )
    except msgspec.DecodeError as exc:  # ValidationError is one
        raise BadWebhookBody(f"not a Razorpay event: {exc}") from None


def order_document(order: GatewayOrder) -> dict[str, Any]:
    return {
        "id": order.id,
        "entity": "order",
        "amount": order.amount_paise,
        "amount_paid": order.amount_paid_paise,
        "amount_due": order.amount_paise - order.amount_paid_paise,
        "currency": order.currency,
        "receipt": order.receipt,
        "offer_id": None,
        "status": order.status.value,
        "attempts": order.attempts,
        "notes": dict(order.notes) or [],
        "created_at": _unix(order.created_at),
    }


def payment_document(payment: GatewayPayment) -> dict[str, Any]:
    return {
        "id": payment.id,
        "entity": "payment",
        "amount": payment.amount_paise,
        "currency": payment.currency,
        "status": payment.status.value,
        "order_id": payment.order_id,
        "invoice_id": None,
        "international": False,
        "method": payment.method,
        "amount_refunded": payment.amount_refunded_paise,
        "refund_status": None,
        "captured": payment.status in (PaymentStatus.CAPTURED, PaymentStatus.REFUNDED),
        "description": payment.description,
        "email": payment.email,
        "contact": payment.contact,
        "notes": dict(payment.notes) or [],
        "fee": payment.fee_paise,
        "tax": payment.fee_tax_paise,
        "error_code": payment.error_code,
        "error_description": payment.error_description,
        "created_at": _unix(payment.created_at),
    }


def event_document(
    event: str,
    *,
    payment: GatewayPayment | None = None,
    order: GatewayOrder | None = None,
    account_id: str = "acc_fake",
    at: datetime | None = None,
) -> dict[str, Any]:
    """A webhook body as Razorpay sends it (``payment.captured``, ``order.paid``, …)."""
    payload: dict[str, Any] = {}
    if payment is not None:
        payload["payment"] = {"entity": payment_document(payment)}
    if order is not None:
        payload["order"] = {"entity": order_document(order)}
    return {
        "entity": "event",
        "account_id": account_id,
        "event": event,
        "contains": list(payload),
        "payload": payload,
        "created_at": _unix(at),
    }


def _unix(at: datetime | None) -> int:
    return int((at or datetime.now(UTC)).timestamp())
