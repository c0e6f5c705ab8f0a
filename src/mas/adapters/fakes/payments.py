"""``FakeGateway``: the payment port in memory (tokens-earnings.md §7, payments-finance.md §7).

Orders are ``order_fake_0001``…; ``pay(order_id)`` captures a payment for the whole amount
(``pay_fake_0001``…), marks the order paid and returns ``(payment_id, signature)`` signed as
Razorpay's checkout signs (with ``FAKE_KEY_SECRET``), which is what a browser would post to
``/api/tokens/verify-payment``. ``webhook(event, order_id)`` builds a signed body in Razorpay's
shape. ``fail_next(n)`` makes the next ``n`` calls raise ``GatewayUnavailable``. The embedded
demo (``MAS_PAYMENTS_PROVIDER=fake``) uses it: purchases go through without money.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from mas.adapters.payments.razorpay_wire import decode_event, event_document
from mas.core.platform.ports.payments import (
    GatewayEvent,
    GatewayOrder,
    GatewayPayment,
    GatewayRejected,
    GatewayUnavailable,
    OrderStatus,
    PaymentStatus,
    checkout_signature,
    signatures_match,
    webhook_signature,
)

FAKE_KEY_ID = "rzp_test_fake"
FAKE_KEY_SECRET = "fake-key-secret"
FAKE_WEBHOOK_SECRET = "fake-webhook-secret"


@dataclass
class FakeGateway:
    key_secret: str = FAKE_KEY_SECRET
    webhook_secret: str = FAKE_WEBHOOK_SECRET
    public_key_id: str = FAKE_KEY_ID
    orders: dict[str, GatewayOrder] = field(default_factory=dict)
    payments: dict[str, GatewayPayment] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    _failures: int = 0
    _events: int = 0

    @property
    def key_id(self) -> str:
        return self.public_key_id

    def fail_next(self, n: int = 1) -> None:
        """The next ``n`` gateway calls raise ``GatewayUnavailable`` (recorded all the same)."""
        self._failures += n

    def _call(self, what: str) -> None:
        self.calls.append(what)
        if self._failures:
            self._failures -= 1
            raise GatewayUnavailable("the fake gateway was told to fail")

    # --- the port -----------------------------------------------------------------------------

    async def create_order(
        self, amount_paise: int, currency: str, receipt: str, notes: dict[str, str]
    ) -> GatewayOrder:
        self._call("create_order")
        if amount_paise < 100:
            raise GatewayRejected("BAD_REQUEST_ERROR", "Order amount less than minimum amount")
        order = GatewayOrder(
            id=f"order_fake_{len(self.orders) + 1:04d}",
            amount_paise=amount_paise,
            currency=currency,
            status=OrderStatus.CREATED,
            receipt=receipt,
            notes=dict(notes),
            created_at=datetime.now(UTC),
        )
        self.orders[order.id] = order
        return order

    async def fetch_order(self, order_id: str) -> GatewayOrder:
        self._call("fetch_order")
        return self._order(order_id)

    async def fetch_order_payments(self, order_id: str) -> list[GatewayPayment]:
        self._call("fetch_order_payments")
        self._order(order_id)
        return [p for p in self.payments.values() if p.order_id == order_id]

    async def list_payments(
        self, from_ts: int, to_ts: int, skip: int, count: int
    ) -> list[GatewayPayment]:
        self._call("list_payments")
        found = sorted(
            (
                p
                for p in self.payments.values()
                if p.created_at is not None and from_ts <= p.created_at.timestamp() <= to_ts
            ),
            key=lambda p: (-(p.created_at.timestamp() if p.created_at else 0), p.id),
        )  # newest first, as Razorpay lists
        return found[skip : skip + min(count, 100)]

    async def fetch_payment(self, payment_id: str) -> GatewayPayment:
        self._call("fetch_payment")
        payment = self.payments.get(payment_id)
        if payment is None:
            raise GatewayRejected("BAD_REQUEST_ERROR", "The id provided does not exist")
        return payment

    def verify_checkout_signature(self, order_id: str, payment_id: str, signature: str) -> bool:
        expected = checkout_signature(self.key_secret, order_id, payment_id)
        valid = signatures_match(expected, signature)
        if valid and payment_id not in self.payments and order_id in self.orders:
            # The demo's browser "pays" by signing a payment id of its own choosing (a real
            # checkout signature proves Razorpay captured that payment): from here on the
            # gateway knows it, as Razorpay would (fetch, list, the finance mirror).
            self.pay(order_id, payment_id=payment_id)
        return valid

    def verify_webhook_signature(self, raw_body: bytes, signature: str) -> bool:
        return signatures_match(webhook_signature(self.webhook_secret, raw_body), signature)

    def parse_webhook(self, raw_body: bytes) -> GatewayEvent:
        return decode_event(raw_body)

    # --- what a test (or the demo's browser) does ----------------------------------------------

    def pay(
        self,
        order_id: str,
        *,
        status: PaymentStatus = PaymentStatus.CAPTURED,
        payment_id: str | None = None,
    ) -> tuple[str, str]:
        """Pay the order in full: ``(payment_id, checkout signature)``."""
        order = self._order(order_id)
        payment = GatewayPayment(
            id=payment_id or f"pay_fake_{len(self.payments) + 1:04d}",
            amount_paise=order.amount_paise,
            currency=order.currency,
            status=status,
            order_id=order.id,
            method="upi",
            notes=dict(order.notes),
            created_at=datetime.now(UTC),
        )
        self.payments[payment.id] = payment
        paid = status == PaymentStatus.CAPTURED
        self.orders[order.id] = GatewayOrder(
            id=order.id,
            amount_paise=order.amount_paise,
            currency=order.currency,
            status=OrderStatus.PAID if paid else OrderStatus.ATTEMPTED,
            receipt=order.receipt,
            amount_paid_paise=order.amount_paise if paid else 0,
            attempts=order.attempts + 1,
            notes=dict(order.notes),
            created_at=order.created_at,
        )
        return payment.id, checkout_signature(self.key_secret, order.id, payment.id)

    def webhook(
        self, event: str, order_id: str, payment_id: str | None = None
    ) -> tuple[dict[str, str], bytes]:
        """Headers and body of a signed webhook about the order (and its payment)."""
        order = self._order(order_id)
        payment = self.payments.get(payment_id) if payment_id else None
        if payment is None:
            payment = next((p for p in self.payments.values() if p.order_id == order_id), None)
        document = event_document(
            event, payment=payment, order=order if event.startswith("order.") else None
        )
        body = json.dumps(document).encode()
        self._events += 1
        event_id = f"evt_fake_{self._events:04d}"
        return signed_headers(body, self.webhook_secret, event_id=event_id), body

    def _order(self, order_id: str) -> GatewayOrder:
        order = self.orders.get(order_id)
        if order is None:
            raise GatewayRejected("BAD_REQUEST_ERROR", "The id provided does not exist")
        return order


def signed_headers(
    body: bytes, webhook_secret: str = FAKE_WEBHOOK_SECRET, *, event_id: str | None = None
) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "X-Razorpay-Signature": webhook_signature(webhook_secret, body),
    }
    if event_id is not None:
        headers["X-Razorpay-Event-Id"] = event_id
    return headers
