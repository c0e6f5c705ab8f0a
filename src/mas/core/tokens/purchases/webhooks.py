"""The gateway's webhooks: ``payment.captured`` and ``order.paid`` complete a token purchase.

A webhook is authentic when ``X-Razorpay-Signature`` is the HMAC of the raw body with the
webhook secret (401 and nothing stored otherwise; with no secret configured every webhook is a
401). An authentic event is stored once per event id (``X-Razorpay-Event-Id``, or the body's
SHA-256 when Razorpay sends none) in the same transaction as its effect: a redelivery answers
200 and does nothing, and an effect that fails stores nothing, so Razorpay's retry tries again.
Events of other types, and payments of orders that are not token purchases, are stored too.
Every new event that carries a payment records ``GatewayPaymentSeen`` (the finance mirror).
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Mapping
from typing import Any

import msgspec

from mas.core.platform.errors import BadRequest, Unauthorized
from mas.core.platform.ids import uuid7
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.payments import (
    BadWebhookBody,
    GatewayEvent,
    GatewayPaymentSeen,
    PaymentPort,
    PaymentStatus,
)
from mas.core.platform.ports.uow import UnitOfWorkFactory
from mas.core.tokens.purchases.completion import Proof, complete
from mas.core.tokens.purchases.model import WebhookReceipt
from mas.core.tokens.purchases.ports import PurchasesUnitOfWork, WebhookRecord, WebhookStatus
from mas.core.tokens.wallet.purse import Purse

log = logging.getLogger("mas.tokens.purchases")

COMPLETING_EVENTS = frozenset({"payment.captured", "order.paid"})
MAX_EVENT_ID = 100


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


class WebhookService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory[PurchasesUnitOfWork],
        clock: Clock,
        gateway: PaymentPort | None,
        purse: Purse,
        provider: str,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._gateway = gateway
        self._purse = purse
        self._provider = provider

    async def receive(self, headers: Mapping[str, str], body: bytes) -> WebhookReceipt:
        signature = _header(headers, "X-Razorpay-Signature") or ""
        gateway = self._gateway
        if gateway is None or not gateway.verify_webhook_signature(body, signature):
            raise Unauthorized(
                "the webhook signature does not match the body", code="bad_signature"
            )
        try:
            event = gateway.parse_webhook(body)
            payload = msgspec.json.decode(body, type=dict[str, Any])
        except (BadWebhookBody, msgspec.DecodeError) as exc:
            raise BadRequest(f"not a gateway event: {exc}", code="bad_webhook_body") from None
        event_id = (_header(headers, "X-Razorpay-Event-Id") or "").strip()[:MAX_EVENT_ID]
        if not event_id:
            event_id = "sha256:" + hashlib.sha256(body).hexdigest()
        async with self._uow() as uow:
            purchase_id = await self._apply(uow, event)
            record = WebhookRecord(
                id=uuid7(),
                provider=self._provider,
                event_id=event_id,
                event_type=event.event,
                payload=payload,
                status=WebhookStatus.IGNORED if purchase_id is None else WebhookStatus.PROCESSED,
                received_at=self._clock.now(),
                purchase_id=purchase_id,
            )
            if not await uow.payment_webhook_events.add(record):
                log.info("tokens.webhook_duplicate", extra={"event_id": event_id})
                return WebhookReceipt(duplicate=True, applied=False)
            if event.payment is not None:
                # Every authentic payment document feeds the finance mirror, whoever's it is.
                uow.record(
                    GatewayPaymentSeen(
                        payment_id=event.payment.id, seen_by="webhook", payment=event.payment
                    )
                )
            await uow.commit()
        log.info(
            "tokens.webhook_received",
            extra={"event_id": event_id, "event": event.event, "applied": purchase_id is not None},
        )
        return WebhookReceipt(duplicate=False, applied=purchase_id is not None)

    async def _apply(self, uow: PurchasesUnitOfWork, event: GatewayEvent) -> uuid.UUID | None:
        payment = event.payment
        if event.event not in COMPLETING_EVENTS or payment is None:
            return None
        if payment.status is not PaymentStatus.CAPTURED or not payment.order_id:
            return None
        purchase = await uow.token_purchases.by_order_id(payment.order_id, lock=True)
        if purchase is None:
            return None  # another domain's order (an enrollment, a payment link)
        if (payment.amount_paise, payment.currency) != (purchase.amount_paise, purchase.currency):
            log.error(
                "tokens.purchase_amount_mismatch",
                extra={
                    "purchase_id": str(purchase.id),
                    "expected": purchase.amount_paise,
                    "paid": payment.amount_paise,
                },
            )
            return None
        proof = Proof(
            payment_id=payment.id,
            source="webhook",
            details={"event": event.event, "method": payment.method},
        )
        done = await complete(uow, self._purse, purchase, proof, self._clock.now())
        return done.id if done is not None else None
