"""The purchase catalogue and state machine, and the gateway signatures (pure core)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import msgspec
import pytest

from mas.core.platform.errors import InvalidState
from mas.core.platform.ports.payments import (
    checkout_signature,
    signatures_match,
    webhook_signature,
)
from mas.core.tokens.purchases.model import (
    MOVES,
    PurchaseStatus,
    TokenPack,
    TokenPurchase,
    catalogue,
)


def purchase(status: PurchaseStatus) -> TokenPurchase:
    return TokenPurchase(
        id=uuid.UUID("0192f000-0000-7000-8000-000000000001"),
        user_id=uuid.uuid4(),
        pack_code="T1",
        token_quantity=1,
        amount_paise=35000,
        currency="INR",
        status=status,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_the_default_catalogue_is_t1_to_t10_at_the_token_price() -> None:
    packs = catalogue([], 35000)
    assert [p.code for p in packs] == [f"T{n}" for n in range(1, 11)]
    assert packs[4] == TokenPack(code="T5", quantity=5, price_paise=175000)


def test_a_configured_catalogue_replaces_the_default_and_is_checked() -> None:
    packs = catalogue([{"code": "STARTER", "quantity": 3, "price_paise": 99900}], 35000)
    assert packs == [TokenPack(code="STARTER", quantity=3, price_paise=99900)]
    with pytest.raises(ValueError, match="repeats"):
        catalogue([{"code": "A", "quantity": 1, "price_paise": 100}] * 2, 35000)
    with pytest.raises(msgspec.ValidationError):
        catalogue([{"code": "BIG", "quantity": 51, "price_paise": 100}], 35000)
    with pytest.raises(msgspec.ValidationError):
        catalogue([{"code": "FREE", "quantity": 1, "price_paise": 0}], 35000)


def test_completed_is_final_and_money_taken_always_completes() -> None:
    assert MOVES[PurchaseStatus.COMPLETED] == frozenset()
    for was in (PurchaseStatus.PENDING, PurchaseStatus.CANCELLED, PurchaseStatus.FAILED):
        assert purchase(was).moved(PurchaseStatus.COMPLETED).status is PurchaseStatus.COMPLETED
    with pytest.raises(InvalidState, match="'completed' to 'cancelled'"):
        purchase(PurchaseStatus.COMPLETED).moved(PurchaseStatus.CANCELLED)
    with pytest.raises(InvalidState):
        purchase(PurchaseStatus.CANCELLED).moved(PurchaseStatus.FAILED)


def test_the_receipt_fits_razorpays_40_characters() -> None:
    receipt = purchase(PurchaseStatus.PENDING).receipt
    assert receipt == "tp_0192f000-0000-7000-8000-000000000001" and len(receipt) <= 40


def test_signatures_are_razorpays_hmacs() -> None:
    # HMAC-SHA256 of "order_1|pay_1" keyed "secret", computed outside the code under test.
    expected = "52115a0d3400de9e86aade1f1b6eba9e8974604f4e267a9e9a16633a4c8dd2cb"
    assert checkout_signature("secret", "order_1", "pay_1") == expected
    body = b'{"event":"payment.captured"}'
    good = webhook_signature("whsec", body)
    assert signatures_match(good, f" {good}\n")  # a header's whitespace is not the signature
    assert not signatures_match(good, "")
    assert not signatures_match(good, webhook_signature("other", body))
