"""Buying a pack: start a purchase, verify the checkout, cancel, list (tokens-earnings.md §5).

Starting a purchase commits the pending row *before* the gateway is asked for an order, so an
order the gateway makes is never without its purchase: when the gateway is down or refuses,
the purchase becomes ``failed`` with the reason and the route answers 503 (or 502); when the
process dies between the two, the reconcile job fails the order-less purchase later. The
price is always the catalogue's.
"""

from __future__ import annotations

import logging
import uuid

from mas.core.identity.policy import Caller
from mas.core.platform.errors import (
    BadRequest,
    Conflict,
    FieldError,
    Forbidden,
    NotConfigured,
    NotFound,
    ValidationFailed,
)
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.payments import (
    GatewayPayment,
    GatewayPaymentSeen,
    GatewayRejected,
    GatewayUnavailable,
    PaymentPort,
    PaymentStatus,
)
from mas.core.platform.ports.uow import UnitOfWorkFactory
from mas.core.tokens.purchases.completion import Proof, complete
from mas.core.tokens.purchases.model import (
    Checkout,
    PackView,
    PurchaseRequest,
    PurchaseStatus,
    PurchaseView,
    TokenPack,
    TokenPurchase,
    VerifyPaymentRequest,
)
from mas.core.tokens.purchases.ports import PurchasesUnitOfWork
from mas.core.tokens.wallet.purse import Purse

log = logging.getLogger("mas.tokens.purchases")

MAX_PENDING = 3
"""A buyer may have this many purchases waiting for payment; the next one is a 409."""


def refuse_impersonation(caller: Caller) -> None:
    if caller.impersonated_by is not None:
        raise Forbidden(
            "money actions are refused while impersonating", code="impersonation_refused"
        )


class PurchaseService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory[PurchasesUnitOfWork],
        clock: Clock,
        gateway: PaymentPort | None,
        purse: Purse,
        packs: list[TokenPack],
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._gateway = gateway
        self._purse = purse
        self._packs = {pack.code: pack for pack in packs}

    def packs(self) -> list[PackView]:
        return [PackView.of(pack) for pack in self._packs.values()]

    def _require_gateway(self) -> PaymentPort:
        if self._gateway is None:
            raise NotConfigured("the payment gateway (MAS_PAYMENTS_PROVIDER)")
        return self._gateway

    # --- buying -------------------------------------------------------------------------------

    async def buy(self, caller: Caller, request: PurchaseRequest) -> Checkout:
        refuse_impersonation(caller)
        gateway = self._require_gateway()
        pack = self._packs.get(request.pack_code)
        if pack is None:
            raise ValidationFailed(
                f"there is no token pack {request.pack_code!r}",
                code="unknown_pack",
                errors=[FieldError("pack_code", "not a pack on sale")],
            )
        purchase = TokenPurchase(
            id=uuid7(),
            user_id=caller.user_id,
            pack_code=pack.code,
            token_quantity=pack.quantity,
            amount_paise=pack.price_paise,
            currency=pack.currency,
            status=PurchaseStatus.PENDING,
            created_at=self._clock.now(),
        )
        async with self._uow() as uow:
            await uow.token_purchases.lock_buyer(caller.user_id)
            if await uow.token_purchases.count_pending(caller.user_id) >= MAX_PENDING:
                raise Conflict(
                    f"you already have {MAX_PENDING} purchases waiting for payment: "
                    "pay or cancel one first",
                    code="too_many_pending_purchases",
                )
            await uow.token_purchases.add(purchase)
            await uow.commit()
        notes = {
            "tokenPurchaseId": str(purchase.id),
            "userId": str(caller.user_id),
            "tokenQuantity": str(pack.quantity),
        }
        try:
            order = await gateway.create_order(
                purchase.amount_paise, purchase.currency, purchase.receipt, notes
            )
        except (GatewayUnavailable, GatewayRejected) as exc:
            await self._fail(purchase.id, f"the order was not created: {exc.detail}"[:300])
            raise
        async with self._uow() as uow:
            stored = await uow.token_purchases.get(purchase.id, lock=True)
            assert stored is not None, "a purchase is never deleted"
            if stored.razorpay_order_id is None:
                stored.razorpay_order_id = order.id
                await uow.token_purchases.save(stored, stored.status)
                await uow.commit()
        return Checkout(
            purchase_id=purchase.id,
            order_id=order.id,
            amount_paise=purchase.amount_paise,
            currency=purchase.currency,
            key_id=gateway.key_id,
            token_quantity=purchase.token_quantity,
        )

    async def _fail(self, purchase_id: uuid.UUID, reason: str) -> None:
        async with self._uow() as uow:
            stored = await uow.token_purchases.get(purchase_id, lock=True)
            if stored is None or not stored.can_move(PurchaseStatus.FAILED):
                return
            failed = stored.moved(PurchaseStatus.FAILED)
            failed.failure_reason = reason
            if await uow.token_purchases.save(failed, stored.status):
                await uow.commit()
        log.warning("tokens.purchase_failed", extra={"purchase_id": str(purchase_id)})

    # --- the checkout's answer ----------------------------------------------------------------

    async def verify(self, caller: Caller, request: VerifyPaymentRequest) -> PurchaseView:
        """Complete the caller's purchase from the checkout's signed answer. A wrong signature
        changes nothing (400); a purchase completed with this payment answers as it is."""
        refuse_impersonation(caller)
        gateway = self._require_gateway()
        order_id = request.razorpay_order_id
        payment_id = request.razorpay_payment_id
        async with self._uow() as uow:
            found = await uow.token_purchases.by_order_id(order_id)
        if found is None:
            raise NotFound(f"no purchase has order {order_id}", code="purchase_not_found")
        if found.user_id != caller.user_id:
            raise Forbidden("this purchase is someone else's", code="not_purchase_owner")
        if not gateway.verify_checkout_signature(order_id, payment_id, request.razorpay_signature):
            log.warning("tokens.bad_checkout_signature", extra={"purchase_id": str(found.id)})
            raise BadRequest("the payment signature is not valid", code="bad_signature")
        if found.status is PurchaseStatus.COMPLETED:
            return self._completed_view(found, payment_id)
        details: dict[str, object] = {}
        payment: GatewayPayment | None = None
        if found.status is not PurchaseStatus.PENDING:
            # A purchase we gave up on completes only when the gateway shows the money taken.
            payment = await gateway.fetch_payment(payment_id)
            if payment.status is not PaymentStatus.CAPTURED or payment.order_id != order_id:
                raise Conflict(
                    f"the purchase is {found.status.value} and its payment is not captured",
                    code="purchase_not_pending",
                )
            details = {"payment_status": payment.status.value}
        proof = Proof(
            payment_id=payment_id,
            source="checkout",
            signature=request.razorpay_signature,
            details=details,
        )
        async with self._uow() as uow:
            locked = await uow.token_purchases.get(found.id, lock=True)
            assert locked is not None, "a purchase is never deleted"
            done = await complete(uow, self._purse, locked, proof, self._clock.now())
            if done is None:
                return self._completed_view(locked, payment_id)
            uow.record(
                GatewayPaymentSeen(payment_id=payment_id, seen_by="checkout", payment=payment)
            )
            await uow.commit()
        return PurchaseView.of(done)

    def _completed_view(self, purchase: TokenPurchase, payment_id: str) -> PurchaseView:
        if purchase.razorpay_payment_id != payment_id:
            raise Conflict(
                "the purchase was completed with another payment",
                code="purchase_already_completed",
            )
        return PurchaseView.of(purchase)

    # --- the buyer's own ----------------------------------------------------------------------

    async def cancel(self, caller: Caller, purchase_id: uuid.UUID) -> PurchaseView:
        async with self._uow() as uow:
            purchase = await uow.token_purchases.get(purchase_id, lock=True)
            if purchase is None or purchase.user_id != caller.user_id:
                raise NotFound(f"no purchase {purchase_id}", code="purchase_not_found")
            if purchase.status is not PurchaseStatus.PENDING:
                raise Conflict(
                    f"the purchase is {purchase.status.value}, not pending",
                    code="purchase_not_pending",
                )
            cancelled = purchase.moved(PurchaseStatus.CANCELLED)
            if not await uow.token_purchases.save(cancelled, PurchaseStatus.PENDING):
                raise Conflict("the purchase changed meanwhile; try again", code="purchase_busy")
            await uow.commit()
        return PurchaseView.of(cancelled)

    async def history(self, caller: Caller, req: PageRequest) -> Page[PurchaseView]:
        async with self._uow() as uow:
            page = await uow.token_purchases.page_for_user(caller.user_id, req)
        return Page(
            items=[PurchaseView.of(p) for p in page.items],
            total=page.total,
            page=page.page,
            page_size=page.page_size,
        )
