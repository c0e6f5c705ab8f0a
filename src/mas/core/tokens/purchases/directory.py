"""The purchases other domains may read (a public interface): the finance mirror matches a
gateway payment to the token purchase its notes name, by these facts and nothing else."""

from __future__ import annotations

import uuid

import msgspec

from mas.core.platform.ports.uow import UnitOfWorkFactory
from mas.core.tokens.purchases.ports import PurchasesUnitOfWork

MAX_LOOKUP = 1000


class PurchaseFacts(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    user_id: uuid.UUID
    razorpay_order_id: str | None
    amount_paise: int
    currency: str


class PurchaseDirectory:
    def __init__(self, uow: UnitOfWorkFactory[PurchasesUnitOfWork]) -> None:
        self._uow = uow

    async def facts(self, purchase_ids: list[uuid.UUID]) -> list[PurchaseFacts]:
        """The purchases of these ids that exist (at most ``MAX_LOOKUP`` ids per call)."""
        wanted = list(dict.fromkeys(purchase_ids))[:MAX_LOOKUP]
        if not wanted:
            return []
        async with self._uow() as uow:
            found = await uow.token_purchases.many(wanted)
        return [
            PurchaseFacts(
                id=p.id,
                user_id=p.user_id,
                razorpay_order_id=p.razorpay_order_id,
                amount_paise=p.amount_paise,
                currency=p.currency,
            )
            for p in found
        ]
