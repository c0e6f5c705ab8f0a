"""Auto-matching (payments-finance.md §4 reconciliation_status, §8): a captured payment whose
notes name a token purchase (``tokenPurchaseId``, written by our own checkout) is MATCHED to it
when the purchase's order is the payment's order and the amounts agree. Anything else leaves the
payment UNMATCHED with a flag saying why, for FINANCE to decide: notes come from the payer's
browser, so they are a lookup key and never proof on their own.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping

from mas.core.finance.payments.mirror import Reconciliation, note_id
from mas.core.finance.payments.model import MatchType
from mas.core.finance.payments.ports import MatchDecision, PurchaseFacts
from mas.core.platform.ports.payments import GatewayPayment, PaymentStatus

PURCHASE_NOTE = "tokenPurchaseId"
MATCHABLE = frozenset({PaymentStatus.CAPTURED, PaymentStatus.REFUNDED})


def purchase_ids(payments: Iterable[GatewayPayment]) -> list[uuid.UUID]:
    """The token purchases the matchable payments' notes name (each once)."""
    found = (note_id(p, PURCHASE_NOTE) for p in payments if p.status in MATCHABLE)
    return list(dict.fromkeys(i for i in found if i is not None))


def decide(
    payment: GatewayPayment, purchases: Mapping[uuid.UUID, PurchaseFacts]
) -> MatchDecision | None:
    """The verdict on one payment, or None when it names no purchase (or is not captured)."""
    if payment.status not in MATCHABLE:
        return None
    wanted = note_id(payment, PURCHASE_NOTE)
    if wanted is None:
        return None
    purchase = purchases.get(wanted)
    flag: str | None = None
    if purchase is None:
        flag = "unknown_purchase"
    elif purchase.razorpay_order_id != payment.order_id:
        flag = "order_mismatch"
    elif (purchase.amount_paise, purchase.currency) != (payment.amount_paise, payment.currency):
        flag = "amount_mismatch"
    if flag is not None or purchase is None:
        return MatchDecision(
            razorpay_payment_id=payment.id,
            reconciliation_status=Reconciliation.UNMATCHED,
            match_flag=flag,
        )
    return MatchDecision(
        razorpay_payment_id=payment.id,
        reconciliation_status=Reconciliation.MATCHED,
        matched_entity_type=MatchType.TOKEN_PURCHASE.value,
        matched_entity_id=purchase.id,
        user_id=purchase.user_id,
    )
