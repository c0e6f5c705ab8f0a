"""The payment gateway port (payments-finance.md §7): orders, payments, and the two signatures.

One port for every domain that takes money (token purchases, the LMS's enrollments, the finance
portal's sync). The adapter is Razorpay's REST API (``mas.adapters.payments.razorpay``);
``FakeGateway`` (``mas.adapters.fakes.payments``) stands in for it in tests and the embedded demo.

Errors a caller must tell apart:

- ``GatewayUnavailable``: the gateway is down, slow or throttling (429, 5xx, timeouts). It is
  ``Transient``: a task retries it; a request answers 503.
- ``GatewayRejected``: the gateway answered and refused (a bad amount, an unknown id, bad API
  keys). Sending the same again is refused again (502).

Both signatures are Razorpay's: the checkout signature is HMAC-SHA256 hex of
``order_id + "|" + payment_id`` with the API key secret; a webhook's ``X-Razorpay-Signature``
is HMAC-SHA256 hex of the raw body with the webhook secret. Both are compared in constant time.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from datetime import datetime
from typing import Protocol

import msgspec

from mas.core.platform.errors import ExternalUnavailable, UpstreamRejected
from mas.core.platform.events import DomainEvent


class OrderStatus(enum.StrEnum):
    CREATED = "created"
    ATTEMPTED = "attempted"
    PAID = "paid"


class PaymentStatus(enum.StrEnum):
    CREATED = "created"
    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    REFUNDED = "refunded"
    FAILED = "failed"


class GatewayOrder(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    amount_paise: int
    currency: str
    status: OrderStatus
    receipt: str | None = None
    amount_paid_paise: int = 0
    attempts: int = 0
    notes: dict[str, str] = {}
    created_at: datetime | None = None


class GatewayPayment(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    amount_paise: int
    currency: str
    status: PaymentStatus
    order_id: str | None = None
    method: str | None = None
    email: str | None = None
    contact: str | None = None
    description: str | None = None
    amount_refunded_paise: int = 0
    fee_paise: int | None = None
    fee_tax_paise: int | None = None
    error_code: str | None = None
    error_description: str | None = None
    notes: dict[str, str] = {}
    created_at: datetime | None = None


class GatewayEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One webhook delivery, decoded: its type and the entities it carries."""

    event: str
    """``payment.captured``, ``order.paid``, ``payment.failed``, … (whatever the gateway sends)."""
    payment: GatewayPayment | None = None
    order: GatewayOrder | None = None
    created_at: datetime | None = None


class GatewayPaymentSeen(DomainEvent, frozen=True, kw_only=True):
    """A domain that takes money saw a gateway payment (a checkout's verify call, a webhook, a
    reconcile sweep). Recorded in that domain's transaction; the finance mirror subscribes, so
    every payment lands in ``global_payments`` whichever path sees it first. ``payment`` is the
    gateway's document when the path had it (a webhook, a fetch); a checkout's verify knows
    only the id, and the mirror fetches the rest."""

    subject = "mas.payments.gateway_payment_seen"
    payment_id: str
    seen_by: str
    """``checkout``, ``webhook`` or ``reconcile``."""
    payment: GatewayPayment | None = None


class GatewayUnavailable(ExternalUnavailable):
    code = "payment_gateway_unavailable"


class GatewayRejected(UpstreamRejected):
    code = "payment_gateway_rejected"

    def __init__(self, gateway_code: str, description: str, *, status: int = 400) -> None:
        super().__init__(f"the payment gateway refused the request: {gateway_code}: {description}")
        self.gateway_code = gateway_code
        self.description = description
        self.status = status


class BadWebhookBody(Exception):
    """A signed webhook body that is not the gateway's event document."""


class PaymentPort(Protocol):
    @property
    def key_id(self) -> str:
        """The public API key id the browser's checkout is opened with (never the secret)."""
        ...

    async def create_order(
        self, amount_paise: int, currency: str, receipt: str, notes: dict[str, str]
    ) -> GatewayOrder: ...

    async def fetch_order(self, order_id: str) -> GatewayOrder: ...

    async def fetch_order_payments(self, order_id: str) -> list[GatewayPayment]: ...

    async def list_payments(
        self, from_ts: int, to_ts: int, skip: int, count: int
    ) -> list[GatewayPayment]: ...

    async def fetch_payment(self, payment_id: str) -> GatewayPayment: ...

    def verify_checkout_signature(self, order_id: str, payment_id: str, signature: str) -> bool: ...

    def verify_webhook_signature(self, raw_body: bytes, signature: str) -> bool: ...

    def parse_webhook(self, raw_body: bytes) -> GatewayEvent:
        """The event of an authentic body; ``BadWebhookBody`` when it is not one."""
        ...


def checkout_signature(key_secret: str, order_id: str, payment_id: str) -> str:
    message = f"{order_id}|{payment_id}".encode()
    return hmac.new(key_secret.encode(), message, hashlib.sha256).hexdigest()


def webhook_signature(webhook_secret: str, raw_body: bytes) -> str:
    return hmac.new(webhook_secret.encode(), raw_body, hashlib.sha256).hexdigest()


def signatures_match(expected: str, given: str) -> bool:
    """Constant time; an empty signature never matches."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.strip().encode())
