"""Purchases tables: token purchases, and the gateway webhook events received (tokens-earnings.md
§3; the webhook log is payments-finance.md's ``WebhookEvent``, kept here until that domain)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from mas.adapters.db.base import Base

TS = DateTimeUTC(timezone=True)


class TokenPurchaseRow(Base):
    __tablename__ = "token_purchases"
    __table_args__ = (
        Index("uq_token_purchases_order_id", "razorpay_order_id", unique=True),
        Index("uq_token_purchases_payment_id", "razorpay_payment_id", unique=True),
        Index("ix_token_purchases_user", "user_id", "created_at"),
        Index("ix_token_purchases_status", "payment_status", "created_at"),
        CheckConstraint("token_quantity BETWEEN 1 AND 50", name="token_quantity_range"),
        CheckConstraint("amount_paise > 0", name="amount_positive"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    pack_code: Mapped[str] = mapped_column(String(20))
    token_quantity: Mapped[int] = mapped_column(Integer)
    amount_paise: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    payment_status: Mapped[str] = mapped_column(String(16))
    razorpay_order_id: Mapped[str | None] = mapped_column(String(64), default=None)
    razorpay_payment_id: Mapped[str | None] = mapped_column(String(64), default=None)
    razorpay_signature: Mapped[str | None] = mapped_column(String(128), default=None)
    payment_details: Mapped[dict[str, Any] | None] = mapped_column(JsonB, default=None)
    failure_reason: Mapped[str | None] = mapped_column(String(300), default=None)
    completed_at: Mapped[datetime | None] = mapped_column(TS, default=None)


class PaymentWebhookEventRow(Base):
    __tablename__ = "payment_webhook_events"
    __table_args__ = (Index("uq_payment_webhook_events_event_id", "event_id", unique=True),)

    provider: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(100))
    event_type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JsonB)
    status: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(TS)
    purchase_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("token_purchases.id", ondelete="SET NULL"), default=None
    )
