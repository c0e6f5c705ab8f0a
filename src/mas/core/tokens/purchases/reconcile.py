"""The reconcile sweep (tokens-earnings.md §6, ``tokens.reconcile_pending_purchases``).

A buyer who paid but whose browser never came back still gets the tokens: every 15 minutes,
each purchase pending for more than 15 minutes is looked up at the gateway. A paid order
completes the purchase with its captured payment (the same ``complete`` as the checkout and
the webhook, so a purchase completed meanwhile is left alone); an order still unpaid after 24
hours fails the purchase. A purchase that never got its order (the process died between the
two steps) cannot have been paid, and fails at once.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import msgspec

from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.payments import (
    GatewayPaymentSeen,
    GatewayRejected,
    OrderStatus,
    PaymentPort,
    PaymentStatus,
)
from mas.core.platform.ports.uow import UnitOfWorkFactory
from mas.core.tokens.purchases.completion import Proof, complete
from mas.core.tokens.purchases.model import PurchaseStatus, TokenPurchase
from mas.core.tokens.purchases.ports import PurchasesUnitOfWork
from mas.core.tokens.wallet.purse import Purse

log = logging.getLogger("mas.tokens.purchases")

LOOK_AFTER = timedelta(minutes=15)
GIVE_UP_AFTER = timedelta(hours=24)
BATCH = 200


class ReconcileReport(msgspec.Struct, frozen=True, kw_only=True):
    checked: int = 0
    completed: int = 0
    failed: int = 0


class Reconciler:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory[PurchasesUnitOfWork],
        clock: Clock,
        gateway: PaymentPort | None,
        purse: Purse,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._gateway = gateway
        self._purse = purse

    async def run(self) -> ReconcileReport:
        """One sweep; a gateway outage raises ``GatewayUnavailable`` (the task is retried and
        what was done so far stays done)."""
        if self._gateway is None:
            return ReconcileReport()
        now = self._clock.now()
        async with self._uow() as uow:
            pending = await uow.token_purchases.pending_before(now - LOOK_AFTER, BATCH)
        completed = failed = 0
        for purchase in pending:
            outcome = await self._settle(self._gateway, purchase)
            completed += outcome == "completed"
            failed += outcome == "failed"
        return ReconcileReport(checked=len(pending), completed=completed, failed=failed)

    async def _settle(self, gateway: PaymentPort, purchase: TokenPurchase) -> str | None:
        old = self._clock.now() - purchase.created_at > GIVE_UP_AFTER
        if purchase.razorpay_order_id is None:
            return await self._fail(purchase, "the gateway order was never created")
        try:
            order = await gateway.fetch_order(purchase.razorpay_order_id)
        except GatewayRejected as exc:
            log.error(
                "tokens.reconcile_unknown_order",
                extra={"purchase_id": str(purchase.id), "code": exc.gateway_code},
            )
            return (
                await self._fail(purchase, "the gateway does not know the order") if old else None
            )
        if order.status is not OrderStatus.PAID:
            return await self._fail(purchase, "unpaid after 24 hours") if old else None
        try:
            payments = await gateway.fetch_order_payments(order.id)
        except GatewayRejected as exc:  # one odd order must not stop the sweep for good
            log.error(
                "tokens.reconcile_payments_refused",
                extra={"purchase_id": str(purchase.id), "code": exc.gateway_code},
            )
            return None
        captured = [
            p
            for p in payments
            if p.status is PaymentStatus.CAPTURED and p.amount_paise == purchase.amount_paise
        ]
        if not captured:
            log.error("tokens.reconcile_paid_without_capture", extra={"order_id": order.id})
            return None
        proof = Proof(
            payment_id=captured[0].id,
            source="reconcile",
            details={"order_status": order.status.value, "method": captured[0].method},
        )
        async with self._uow() as uow:
            locked = await uow.token_purchases.get(purchase.id, lock=True)
            assert locked is not None, "a purchase is never deleted"
            done = await complete(uow, self._purse, locked, proof, self._clock.now())
            if done is None:
                return None
            uow.record(
                GatewayPaymentSeen(
                    payment_id=captured[0].id, seen_by="reconcile", payment=captured[0]
                )
            )
            await uow.commit()
        return "completed"

    async def _fail(self, purchase: TokenPurchase, reason: str) -> str | None:
        async with self._uow() as uow:
            locked = await uow.token_purchases.get(purchase.id, lock=True)
            if locked is None or locked.status is not PurchaseStatus.PENDING:
                return None
            failed = locked.moved(PurchaseStatus.FAILED)
            failed.failure_reason = reason
            if not await uow.token_purchases.save(failed, PurchaseStatus.PENDING):
                return None
            await uow.commit()
        log.info("tokens.purchase_failed", extra={"purchase_id": str(purchase.id), "why": reason})
        return "failed"
