"""What the purchases part needs from storage: purchases, and the webhook events received."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any, Protocol

import msgspec

from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.uow import UnitOfWork
from mas.core.tokens.purchases.model import PurchaseStatus, TokenPurchase


class WebhookStatus(enum.StrEnum):
    PROCESSED = "PROCESSED"
    """It completed a purchase."""
    IGNORED = "IGNORED"
    """Authentic but nothing to do (another event type, an order that is not a token purchase,
    a purchase already completed)."""


class WebhookRecord(msgspec.Struct, kw_only=True):
    """One authentic gateway webhook (``payment_webhook_events``), kept once per event id."""

    id: uuid.UUID
    provider: str
    event_id: str
    event_type: str
    payload: dict[str, Any]
    status: WebhookStatus
    received_at: datetime
    purchase_id: uuid.UUID | None = None


class TokenPurchaseRepository(Protocol):
    async def add(self, purchase: TokenPurchase) -> None: ...

    async def get(self, purchase_id: uuid.UUID, *, lock: bool = False) -> TokenPurchase | None: ...

    async def many(self, purchase_ids: list[uuid.UUID]) -> list[TokenPurchase]:
        """The purchases of these ids that exist (any order)."""
        ...

    async def by_order_id(self, order_id: str, *, lock: bool = False) -> TokenPurchase | None: ...

    async def lock_buyer(self, user_id: uuid.UUID) -> None:
        """Hold the buyer's row for this transaction: a buyer's purchases start one at a time,
        so the pending count a purchase checks cannot be raced past."""
        ...

    async def count_pending(self, user_id: uuid.UUID) -> int: ...

    async def save(self, purchase: TokenPurchase, expected: PurchaseStatus) -> bool:
        """Write ``purchase`` if its row is still in ``expected`` (a compare-and-set)."""
        ...

    async def page_for_user(self, user_id: uuid.UUID, req: PageRequest) -> Page[TokenPurchase]:
        """The user's purchases, newest first."""
        ...

    async def pending_before(self, before: datetime, limit: int) -> list[TokenPurchase]:
        """Pending purchases created before ``before``, oldest first."""
        ...


class WebhookEventRepository(Protocol):
    async def add(self, record: WebhookRecord) -> bool:
        """Insert; False (nothing written, the transaction intact) when the event id was
        received before. A concurrent insert of the same id waits for the other transaction."""
        ...


class PurchasesUnitOfWork(UnitOfWork, Protocol):
    token_purchases: TokenPurchaseRepository
    payment_webhook_events: WebhookEventRepository
