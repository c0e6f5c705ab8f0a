"""The purchases part's repositories on SQLAlchemy Core: purchases and webhook events.

A status change is a compare-and-set (``UPDATE … WHERE payment_status = <as read>``), and the
services read the row ``FOR UPDATE`` first (PostgreSQL; SQLite has one writer at a time), so a
checkout verify and a webhook racing for one purchase run one after the other. A webhook event
is inserted with ``ON CONFLICT DO NOTHING`` on its event id: a redelivery never aborts the
transaction, and a concurrent one waits for the first and then finds its row.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mas.adapters.db.identity.tables import UserRow
from mas.adapters.db.tokens.purchases_tables import PaymentWebhookEventRow, TokenPurchaseRow
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.uow import DuplicateKey
from mas.core.tokens.purchases.model import PurchaseStatus, TokenPurchase
from mas.core.tokens.purchases.ports import WebhookRecord

PURCHASES = cast(Table, TokenPurchaseRow.__table__)
EVENTS = cast(Table, PaymentWebhookEventRow.__table__)
USERS = cast(Table, UserRow.__table__)
_COLUMNS = [
    PURCHASES.c.id,
    PURCHASES.c.user_id,
    PURCHASES.c.pack_code,
    PURCHASES.c.token_quantity,
    PURCHASES.c.amount_paise,
    PURCHASES.c.currency,
    PURCHASES.c.payment_status,
    PURCHASES.c.created_at,
    PURCHASES.c.razorpay_order_id,
    PURCHASES.c.razorpay_payment_id,
    PURCHASES.c.razorpay_signature,
    PURCHASES.c.payment_details,
    PURCHASES.c.failure_reason,
    PURCHASES.c.completed_at,
]


def _purchase(row: Any) -> TokenPurchase:
    return TokenPurchase(
        id=row.id,
        user_id=row.user_id,
        pack_code=row.pack_code,
        token_quantity=row.token_quantity,
        amount_paise=row.amount_paise,
        currency=row.currency,
        status=PurchaseStatus(row.payment_status),
        created_at=row.created_at,
        razorpay_order_id=row.razorpay_order_id,
        razorpay_payment_id=row.razorpay_payment_id,
        razorpay_signature=row.razorpay_signature,
        payment_details=row.payment_details,
        failure_reason=row.failure_reason,
        completed_at=row.completed_at,
    )


def _values(purchase: TokenPurchase) -> dict[str, Any]:
    return {
        "user_id": purchase.user_id,
        "pack_code": purchase.pack_code,
        "token_quantity": purchase.token_quantity,
        "amount_paise": purchase.amount_paise,
        "currency": purchase.currency,
        "payment_status": purchase.status.value,
        "razorpay_order_id": purchase.razorpay_order_id,
        "razorpay_payment_id": purchase.razorpay_payment_id,
        "razorpay_signature": purchase.razorpay_signature,
        "payment_details": purchase.payment_details,
        "failure_reason": purchase.failure_reason,
        "completed_at": purchase.completed_at,
    }


class SqlTokenPurchases:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    def _select(self, lock: bool) -> Any:
        statement = select(*_COLUMNS)
        return statement.with_for_update() if lock else statement

    async def add(self, purchase: TokenPurchase) -> None:
        await self._s.execute(
            insert(PURCHASES).values(
                id=purchase.id, created_at=purchase.created_at, **_values(purchase)
            )
        )

    async def get(self, purchase_id: uuid.UUID, *, lock: bool = False) -> TokenPurchase | None:
        statement = self._select(lock).where(PURCHASES.c.id == purchase_id)
        row = (await self._s.execute(statement)).first()
        return _purchase(row) if row else None

    async def many(self, purchase_ids: list[uuid.UUID]) -> list[TokenPurchase]:
        if not purchase_ids:
            return []
        statement = self._select(False).where(PURCHASES.c.id.in_(purchase_ids))
        return [_purchase(row) for row in (await self._s.execute(statement)).all()]

    async def by_order_id(self, order_id: str, *, lock: bool = False) -> TokenPurchase | None:
        statement = self._select(lock).where(PURCHASES.c.razorpay_order_id == order_id)
        row = (await self._s.execute(statement)).first()
        return _purchase(row) if row else None

    async def lock_buyer(self, user_id: uuid.UUID) -> None:
        await self._s.execute(select(USERS.c.id).where(USERS.c.id == user_id).with_for_update())

    async def count_pending(self, user_id: uuid.UUID) -> int:
        statement = select(func.count()).where(
            PURCHASES.c.user_id == user_id,
            PURCHASES.c.payment_status == PurchaseStatus.PENDING.value,
        )
        return int((await self._s.execute(statement)).scalar_one())

    async def save(self, purchase: TokenPurchase, expected: PurchaseStatus) -> bool:
        statement = (
            update(PURCHASES)
            .where(PURCHASES.c.id == purchase.id, PURCHASES.c.payment_status == expected.value)
            .values(**_values(purchase))
        )
        try:
            async with self._s.begin_nested():
                result = await self._s.execute(statement)
        except IntegrityError:
            raise DuplicateKey(f"payment {purchase.razorpay_payment_id}") from None
        return bool(getattr(result, "rowcount", 0))

    async def page_for_user(self, user_id: uuid.UUID, req: PageRequest) -> Page[TokenPurchase]:
        where = PURCHASES.c.user_id == user_id
        total = (await self._s.execute(select(func.count()).where(where))).scalar_one()
        rows = await self._s.execute(
            select(*_COLUMNS)
            .where(where)
            .order_by(PURCHASES.c.created_at.desc(), PURCHASES.c.id.desc())
            .offset(req.offset)
            .limit(req.page_size)
        )
        return Page(
            items=[_purchase(row) for row in rows],
            total=int(total),
            page=req.page,
            page_size=req.page_size,
        )

    async def pending_before(self, before: datetime, limit: int) -> list[TokenPurchase]:
        rows = await self._s.execute(
            select(*_COLUMNS)
            .where(
                PURCHASES.c.payment_status == PurchaseStatus.PENDING.value,
                PURCHASES.c.created_at < before,
            )
            .order_by(PURCHASES.c.created_at)
            .limit(limit)
        )
        return [_purchase(row) for row in rows]


class SqlPaymentWebhookEvents:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(self, record: WebhookRecord) -> bool:
        postgres = self._s.get_bind().dialect.name == "postgresql"
        make = postgresql.insert if postgres else sqlite.insert
        inserted = await self._s.execute(
            make(EVENTS)
            .values(
                id=record.id,
                provider=record.provider,
                event_id=record.event_id,
                event_type=record.event_type,
                payload=record.payload,
                status=record.status.value,
                received_at=record.received_at,
                purchase_id=record.purchase_id,
            )
            .on_conflict_do_nothing(index_elements=["event_id"])
            .returning(EVENTS.c.id)
        )
        return inserted.scalar_one_or_none() is not None
