"""Earnings tables: one balances row per mentor and the journal of earnings and withdrawals
(tokens-earnings.md §3)."""

from __future__ import annotations

import uuid
from datetime import datetime

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from mas.adapters.db.base import Base

TS = DateTimeUTC(timezone=True)
OPEN_WITHDRAWAL = text("type = 'withdrawal' AND status IN ('requested', 'in_process')")


class MentorEarningsRow(Base):
    __tablename__ = "mentor_earnings"
    __table_args__ = (
        Index("uq_mentor_earnings_mentor", "mentor_id", unique=True),
        CheckConstraint(
            "total_earnings_paise = available_balance_paise + pending_withdrawal_paise"
            " + withdrawn_amount_paise",
            name="balanced",
        ),
        CheckConstraint(
            "available_balance_paise >= 0 AND pending_withdrawal_paise >= 0"
            " AND withdrawn_amount_paise >= 0",
            name="not_negative",
        ),
    )

    mentor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    total_earnings_paise: Mapped[int] = mapped_column(BigInteger, default=0)
    available_balance_paise: Mapped[int] = mapped_column(BigInteger, default=0)
    pending_withdrawal_paise: Mapped[int] = mapped_column(BigInteger, default=0)
    withdrawn_amount_paise: Mapped[int] = mapped_column(BigInteger, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)


class MentorTransactionRow(Base):
    __tablename__ = "mentor_transactions"
    __table_args__ = (
        # The double-credit guard: a slot earns once (only earnings carry a slot).
        Index("uq_mentor_transactions_slot", "slot_id", unique=True),
        # One open withdrawal per mentor.
        Index(
            "uq_mentor_transactions_open_withdrawal",
            "mentor_id",
            unique=True,
            sqlite_where=OPEN_WITHDRAWAL,
            postgresql_where=OPEN_WITHDRAWAL,
        ),
        Index("uq_mentor_transactions_payout", "razorpay_payout_id", unique=True),
        Index("ix_mentor_transactions_mentor", "mentor_id", "created_at"),
        Index("ix_mentor_transactions_type_status", "type", "status", "created_at"),
    )

    mentor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(16))
    amount_paise: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str | None] = mapped_column(String(16), default=None)
    slot_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    tokens: Mapped[int | None] = mapped_column(Integer, default=None)
    token_value_paise: Mapped[int | None] = mapped_column(BigInteger, default=None)
    payment_method: Mapped[str | None] = mapped_column(String(8), default=None)
    bank_upi: Mapped[str | None] = mapped_column(String(255), default=None)
    payout_mode: Mapped[str | None] = mapped_column(String(16), default=None)
    transaction_id: Mapped[str | None] = mapped_column(String(100), default=None)
    razorpay_payout_id: Mapped[str | None] = mapped_column(String(64), default=None)
    description: Mapped[str | None] = mapped_column(String(500), default=None)
    failure_reason: Mapped[str | None] = mapped_column(String(500), default=None)
    processed_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    completed_at: Mapped[datetime | None] = mapped_column(TS, default=None)
