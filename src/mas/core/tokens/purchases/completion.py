"""Completing a purchase: the one place a purchase becomes tokens.

The checkout signature, a webhook and the reconcile job all end here, inside the caller's unit
of work and with the purchase row locked: the status moves by compare-and-set, and the credit
goes through the wallet's purse keyed ``purchase:<id>`` in the same transaction. Two of them
racing for one purchase (the browser's verify and Razorpay's webhook arrive together) are
serialized by the row lock; the second finds the purchase completed and does nothing, and were
the lock ever missing, the ledger key would still refuse a second credit.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import msgspec

from mas.core.platform.errors import Conflict
from mas.core.platform.ports.uow import DuplicateKey
from mas.core.tokens.purchases.model import PurchaseStatus, TokenPurchase
from mas.core.tokens.purchases.ports import PurchasesUnitOfWork
from mas.core.tokens.wallet.purse import Purse, TokenKind, UsageType

log = logging.getLogger("mas.tokens.purchases")


class Proof(msgspec.Struct, frozen=True, kw_only=True):
    """What proves the payment: its id, and the checkout signature or the gateway's payload."""

    payment_id: str
    source: str
    """``checkout``, ``webhook`` or ``reconcile``."""
    signature: str | None = None
    details: dict[str, Any] | None = None


async def complete(
    uow: PurchasesUnitOfWork,
    purse: Purse,
    purchase: TokenPurchase,
    proof: Proof,
    now: datetime,
) -> TokenPurchase | None:
    """Complete ``purchase`` (read with its row locked) and credit its tokens; None when it was
    completed before (nothing changes). Raises ``Conflict`` when the row moved under us."""
    if purchase.status is PurchaseStatus.COMPLETED:
        if purchase.razorpay_payment_id != proof.payment_id:
            log.error(
                "tokens.purchase_second_payment",
                extra={
                    "purchase_id": str(purchase.id),
                    "kept": purchase.razorpay_payment_id,
                    "other": proof.payment_id,
                },
            )
        return None
    was = purchase.status
    done = purchase.moved(PurchaseStatus.COMPLETED)
    done.razorpay_payment_id = proof.payment_id
    done.razorpay_signature = proof.signature
    done.payment_details = {"source": proof.source, **(proof.details or {})}
    done.completed_at = now
    try:
        saved = await uow.token_purchases.save(done, was)
    except DuplicateKey:
        raise Conflict(
            f"payment {proof.payment_id} already completed another purchase",
            code="payment_already_used",
        ) from None
    if not saved:
        raise Conflict("the purchase changed meanwhile; try again", code="purchase_busy")
    await purse.credit(
        uow,
        user_id=done.user_id,
        kind=TokenKind.MENTOR,
        tokens=done.token_quantity,
        usage_type=UsageType.PURCHASE,
        key=f"purchase:{done.id}",
        reference_id=str(done.id),
        description=f"Token pack {done.pack_code}",
    )
    if was is not PurchaseStatus.PENDING:
        # Money was taken for a purchase we had given up on: it becomes tokens all the same,
        # and operations hear of it.
        log.warning(
            "tokens.purchase_completed_late",
            extra={"purchase_id": str(done.id), "was": was.value, "source": proof.source},
        )
    log.info(
        "tokens.purchase_completed",
        extra={"purchase_id": str(done.id), "tokens": done.token_quantity, "source": proof.source},
    )
    return done
