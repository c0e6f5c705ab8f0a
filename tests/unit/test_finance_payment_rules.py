"""The payment mirror's pure rules: auto-matching by the purchase the notes name, the
reconciliation moves, the windows FINANCE may ask for (payments-finance.md §4, §5, §8)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import msgspec
import pytest

from mas.core.finance.payments import matching
from mas.core.finance.payments.desk import moved
from mas.core.finance.payments.mirror import PaymentSource, Reconciliation
from mas.core.finance.payments.model import MirroredPayment
from mas.core.finance.payments.sync import check_window
from mas.core.platform.errors import InvalidState, ValidationFailed
from mas.core.platform.ports.payments import GatewayPayment, PaymentStatus

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
PURCHASE = uuid.UUID("0190f000-0000-7000-8000-00000000000a")
BUYER = uuid.UUID("0190f000-0000-7000-8000-00000000000b")


class Facts(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID = PURCHASE
    user_id: uuid.UUID = BUYER
    razorpay_order_id: str | None = "order_1"
    amount_paise: int = 35000
    currency: str = "INR"


def paid(**changes: object) -> GatewayPayment:
    fields: dict[str, object] = {
        "id": "pay_1",
        "amount_paise": 35000,
        "currency": "INR",
        "status": PaymentStatus.CAPTURED,
        "order_id": "order_1",
        "notes": {"tokenPurchaseId": str(PURCHASE)},
    }
    fields.update(changes)
    return msgspec.convert(fields, GatewayPayment)


def test_a_purchase_with_the_same_order_and_amount_is_matched() -> None:
    decision = matching.decide(paid(), {PURCHASE: Facts()})
    assert decision is not None
    assert (decision.reconciliation_status, decision.matched_entity_type) == (
        Reconciliation.MATCHED,
        "TOKEN_PURCHASE",
    )
    assert (decision.matched_entity_id, decision.user_id, decision.match_flag) == (
        PURCHASE,
        BUYER,
        None,
    )


@pytest.mark.parametrize(
    ("payment", "facts", "flag"),
    [
        (paid(amount_paise=100), Facts(), "amount_mismatch"),
        (paid(currency="USD"), Facts(), "amount_mismatch"),
        (paid(order_id="order_other"), Facts(), "order_mismatch"),
        (paid(), None, "unknown_purchase"),
    ],
)
def test_anything_else_stays_unmatched_with_a_flag(
    payment: GatewayPayment, facts: Facts | None, flag: str
) -> None:
    decision = matching.decide(payment, {PURCHASE: facts} if facts else {})
    assert decision is not None
    assert (decision.reconciliation_status, decision.match_flag) == (
        Reconciliation.UNMATCHED,
        flag,
    )
    assert decision.matched_entity_id is None


def test_no_verdict_without_a_purchase_note_or_before_capture() -> None:
    assert matching.decide(paid(notes={}), {PURCHASE: Facts()}) is None
    assert matching.decide(paid(notes={"tokenPurchaseId": "x"}), {}) is None
    authorized = paid(status=PaymentStatus.AUTHORIZED)
    assert matching.decide(authorized, {PURCHASE: Facts()}) is None
    assert matching.purchase_ids([authorized, paid(), paid(id="pay_2")]) == [PURCHASE]


def mirrored(status: Reconciliation) -> MirroredPayment:
    return MirroredPayment(
        id=uuid.uuid4(),
        razorpay_payment_id="pay_1",
        razorpay_order_id=None,
        amount_paise=100,
        amount_refunded_paise=0,
        currency="INR",
        gateway_status=PaymentStatus.CAPTURED,
        method=None,
        email=None,
        contact=None,
        description=None,
        notes={},
        fee_paise=None,
        fee_tax_paise=None,
        gateway_created_at=NOW,
        captured_at=NOW,
        source=PaymentSource.UNKNOWN,
        reconciliation_status=status,
        matched_entity_type=None,
        matched_entity_id=None,
        user_id=None,
        ignore_reason=None,
        synced_at=NOW,
        created_at=NOW,
        updated_at=NOW,
    )


@pytest.mark.parametrize(
    ("start", "target", "allowed"),
    [
        (Reconciliation.UNMATCHED, Reconciliation.MATCHED, True),
        (Reconciliation.UNMATCHED, Reconciliation.IGNORED, True),
        (Reconciliation.IGNORED, Reconciliation.UNMATCHED, True),
        (Reconciliation.MATCHED, Reconciliation.UNMATCHED, True),
        (Reconciliation.IGNORED, Reconciliation.MATCHED, False),
        (Reconciliation.MATCHED, Reconciliation.IGNORED, False),
        (Reconciliation.UNMATCHED, Reconciliation.UNMATCHED, False),
    ],
)
def test_reconciliation_moves(start: Reconciliation, target: Reconciliation, allowed: bool) -> None:
    if allowed:
        assert moved(mirrored(start), target).reconciliation_status is target
        return
    with pytest.raises(InvalidState) as refused:
        moved(mirrored(start), target)
    assert start.value in str(refused.value) and target.value in str(refused.value)


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (NOW, NOW - timedelta(seconds=1), "to"),
        (NOW - timedelta(days=32), NOW, "to"),
        (NOW + timedelta(days=1), NOW + timedelta(days=2), "from"),
        (datetime(1999, 12, 31, tzinfo=UTC), datetime(2000, 1, 2, tzinfo=UTC), "from"),
        (datetime(2026, 11, 1), NOW, "from"),  # naive
        (datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))), NOW, "from"),
    ],
)
def test_a_window_is_ordered_past_and_at_most_31_days(
    start: datetime, end: datetime, field: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_window(start, end, NOW, max_days=31)
    assert refused.value.code == "bad_window"
    assert [e.field for e in refused.value.errors] == [field]


def test_a_31_day_window_ending_now_is_fine() -> None:
    check_window(NOW - timedelta(days=31), NOW, NOW, max_days=31)
