"""Token purchases: the pack catalogue, a purchase and its state machine, and the API's shapes.

A purchase (tokens-earnings.md §3–4) is ``pending`` while the buyer pays at the gateway. It ends
``completed`` (the checkout signature, a webhook or the reconcile job proved the payment; tokens
credited in the same transaction), ``cancelled`` (the owner gave up) or ``failed`` (the order
could not be created, or stayed unpaid for 24 h). Money taken must always become tokens, so a
cancelled or failed purchase still completes when the gateway later proves the capture.
``completed`` is final: nothing moves a completed purchase, and its credit is keyed
``purchase:<id>`` so it is made once.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec

from mas.core.platform.errors import InvalidState

MAX_PACK_TOKENS = 50
PACK_CODE = r"^[A-Za-z0-9_-]{1,20}$"
CURRENCY = "INR"


class PurchaseStatus(enum.StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


MOVES: dict[PurchaseStatus, frozenset[PurchaseStatus]] = {
    PurchaseStatus.PENDING: frozenset(
        {PurchaseStatus.COMPLETED, PurchaseStatus.CANCELLED, PurchaseStatus.FAILED}
    ),
    PurchaseStatus.CANCELLED: frozenset({PurchaseStatus.COMPLETED}),
    PurchaseStatus.FAILED: frozenset({PurchaseStatus.COMPLETED}),
    PurchaseStatus.COMPLETED: frozenset(),
}
"""Where each purchase state may go (tokens-earnings.md §4)."""


class TokenPack(msgspec.Struct, frozen=True, kw_only=True):
    """A pack on sale: its code, its tokens and its GST-inclusive price."""

    code: Annotated[str, msgspec.Meta(pattern=PACK_CODE)]
    quantity: Annotated[int, msgspec.Meta(ge=1, le=MAX_PACK_TOKENS)]
    price_paise: Annotated[int, msgspec.Meta(ge=100, le=10**9)]
    currency: Annotated[str, msgspec.Meta(min_length=3, max_length=3)] = CURRENCY


def catalogue(packs: list[dict[str, Any]], token_price_paise: int) -> list[TokenPack]:
    """The packs on sale: ``packs`` (the ``token_packs`` setting) when given, else T1..T10 at
    ``token_price_paise`` each. A malformed or repeated pack is refused at start-up."""
    if not packs:
        return [
            TokenPack(code=f"T{n}", quantity=n, price_paise=n * token_price_paise)
            for n in range(1, 11)
        ]
    found = msgspec.convert(packs, list[TokenPack])
    codes = [pack.code for pack in found]
    if len(set(codes)) != len(codes):
        raise ValueError(f"token_packs repeats a code: {codes}")
    return found


class TokenPurchase(msgspec.Struct, kw_only=True):
    """One purchase (``token_purchases``)."""

    id: uuid.UUID
    user_id: uuid.UUID
    pack_code: str
    token_quantity: int
    amount_paise: int
    currency: str
    status: PurchaseStatus
    created_at: datetime
    razorpay_order_id: str | None = None
    razorpay_payment_id: str | None = None
    razorpay_signature: str | None = None
    payment_details: dict[str, Any] | None = None
    failure_reason: str | None = None
    completed_at: datetime | None = None

    def can_move(self, target: PurchaseStatus) -> bool:
        return target in MOVES[self.status]

    def moved(self, target: PurchaseStatus) -> TokenPurchase:
        """A copy in ``target``; ``InvalidState`` naming both states when the machine forbids it."""
        if not self.can_move(target):
            raise InvalidState("token purchase", self.status.value, target.value)
        return msgspec.structs.replace(self, status=target)

    @property
    def receipt(self) -> str:
        """The order's receipt: ``tp_`` and the first 36 characters of the id (Razorpay ≤ 40)."""
        return f"tp_{str(self.id)[:36]}"


# --- what the API takes and shows ---------------------------------------------------------------

PackCode = Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
GatewayId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Signature = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
Reason = Annotated[str, msgspec.Meta(max_length=300)]


IgnoredAmount = (
    Annotated[
        int,
        msgspec.Meta(
            ge=1,  # not 0: the OpenAPI document drops a zero minimum
            le=10**9,
            description="ignored: the price is always the catalogue's (older clients send one)",
        ),
    ]
    | None
)


class PurchaseRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A pack to buy. The price is the catalogue's: an amount in the body is read and ignored
    (tokens-earnings.md §8; the original client sent one and the server trusted it)."""

    pack_code: PackCode
    amount: IgnoredAmount = None
    amount_paise: IgnoredAmount = None


class VerifyPaymentRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What the gateway's checkout hands the browser after a successful payment."""

    razorpay_order_id: GatewayId
    razorpay_payment_id: GatewayId
    razorpay_signature: Signature


class PackView(msgspec.Struct, frozen=True, kw_only=True):
    code: PackCode
    quantity: Annotated[int, msgspec.Meta(ge=1, le=MAX_PACK_TOKENS)]
    price_paise: Annotated[int, msgspec.Meta(ge=0, le=10**9)]
    currency: Annotated[str, msgspec.Meta(max_length=3)]

    @classmethod
    def of(cls, pack: TokenPack) -> PackView:
        return cls(
            code=pack.code,
            quantity=pack.quantity,
            price_paise=pack.price_paise,
            currency=pack.currency,
        )


class Checkout(msgspec.Struct, frozen=True, kw_only=True):
    """What the browser opens the gateway's checkout with."""

    purchase_id: uuid.UUID
    order_id: GatewayId
    amount_paise: Annotated[int, msgspec.Meta(ge=0, le=10**9)]
    currency: Annotated[str, msgspec.Meta(max_length=3)]
    key_id: Annotated[str, msgspec.Meta(max_length=64)]
    token_quantity: Annotated[int, msgspec.Meta(ge=1, le=MAX_PACK_TOKENS)]


class PurchaseView(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    pack_code: PackCode
    token_quantity: Annotated[int, msgspec.Meta(ge=1, le=MAX_PACK_TOKENS)]
    amount_paise: Annotated[int, msgspec.Meta(ge=0, le=10**9)]
    currency: Annotated[str, msgspec.Meta(max_length=3)]
    status: PurchaseStatus
    razorpay_order_id: GatewayId | None
    razorpay_payment_id: GatewayId | None
    failure_reason: Reason | None
    created_at: datetime
    completed_at: datetime | None

    @classmethod
    def of(cls, purchase: TokenPurchase) -> PurchaseView:
        return cls(
            id=purchase.id,
            pack_code=purchase.pack_code,
            token_quantity=purchase.token_quantity,
            amount_paise=purchase.amount_paise,
            currency=purchase.currency,
            status=purchase.status,
            razorpay_order_id=purchase.razorpay_order_id,
            razorpay_payment_id=purchase.razorpay_payment_id,
            failure_reason=purchase.failure_reason,
            created_at=purchase.created_at,
            completed_at=purchase.completed_at,
        )


class WebhookReceipt(msgspec.Struct, frozen=True, kw_only=True):
    duplicate: bool
    """True when this event id was received before (nothing was done again)."""
    applied: bool
    """True when the event completed a purchase."""
