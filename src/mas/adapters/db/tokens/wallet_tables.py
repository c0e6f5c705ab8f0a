"""The wallet part's tables: wallets (``tokens``), the ledger (``token_usage``), promotional
grants and allotment requests.

Kinds, directions, sources and statuses are stored as their enum values (short strings) and
checked by the core. The CHECK constraints are a backstop: no wallet or grant goes negative
even if a statement forgot its guard. ``token_usage.slot_id`` has no foreign key yet: the
slots table belongs to the mentorship domain, which is not migrated before this part.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from mas.adapters.db.base import Base, metadata

TS = DateTimeUTC(timezone=True)


class TokenWalletRow(Base):
    __tablename__ = "tokens"
    __table_args__ = (
        CheckConstraint("token >= 0", name="token_not_negative"),
        CheckConstraint("resume_tokens >= 0", name="resume_tokens_not_negative"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), unique=True
    )
    token: Mapped[int] = mapped_column(Integer, default=0)
    resume_tokens: Mapped[int] = mapped_column(Integer, default=0)
    # Kept from the original schema, not enforced (tokens-earnings.md §3).
    expires_at: Mapped[datetime | None] = mapped_column(TS, default=None)
    version: Mapped[int] = mapped_column(Integer, default=1)


class PromotionalGrantRow(Base):
    __tablename__ = "token_promotional_grants"
    __table_args__ = (
        # At most one ACTIVE grant per (user, kind): the insert of a second one is refused.
        Index(
            "uq_token_grants_active",
            "user_id",
            "token_kind",
            unique=True,
            sqlite_where=text("status = 'ACTIVE'"),
            postgresql_where=text("status = 'ACTIVE'"),
        ),
        Index("ix_token_grants_status_expiry", "status", "expires_at"),
        CheckConstraint(
            "tokens_remaining >= 0 AND tokens_remaining <= tokens_granted",
            name="grant_remaining_in_range",
        ),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_kind: Mapped[str] = mapped_column(String(8))
    tokens_granted: Mapped[int] = mapped_column(Integer)
    tokens_remaining: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(TS)
    reason: Mapped[str] = mapped_column(String(300))
    granted_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    status: Mapped[str] = mapped_column(String(16))
    closed_at: Mapped[datetime | None] = mapped_column(TS, default=None)


class AllotmentRequestRow(Base):
    __tablename__ = "token_allotment_requests"
    __table_args__ = (
        Index(
            "uq_token_allotments_pending",
            "student_id",
            "batch_id",
            "token_kind",
            unique=True,
            sqlite_where=text("status = 'PENDING'"),
            postgresql_where=text("status = 'PENDING'"),
        ),
        Index("ix_token_allotments_student", "student_id", "created_at"),
        Index("ix_token_allotments_lead", "batch_lead_id", "status", "created_at"),
        Index("ix_token_allotments_status_created", "status", "created_at"),
    )

    student_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # The batches table belongs to the LMS (not built yet): no foreign key.
    batch_id: Mapped[uuid.UUID] = mapped_column()
    batch_lead_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    token_kind: Mapped[str] = mapped_column(String(8))
    tokens_requested: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16))
    decided_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    decided_at: Mapped[datetime | None] = mapped_column(TS, default=None)
    decision_note: Mapped[str | None] = mapped_column(String(500), default=None)


# The ledger: append-only, so no ``updated_at``; a plain table the repository writes with
# ``INSERT … ON CONFLICT DO NOTHING`` on the idempotency key.
token_usage = Table(
    "token_usage",
    metadata,
    Column("id", GUID(length=16), primary_key=True),
    Column("user_id", GUID(length=16), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("slot_id", GUID(length=16), nullable=True),
    Column("usage_type", String(24), nullable=False),
    Column("token_kind", String(8), nullable=False),
    Column("direction", String(8), nullable=False),
    Column("tokens_used", Integer, nullable=False),
    Column("source", String(8), nullable=False),
    Column("balance_before", Integer, nullable=False),
    Column("balance_after", Integer, nullable=False),
    Column("description", Text, nullable=True),
    Column("reference_id", String(64), nullable=True),
    Column("idempotency_key", String(120), nullable=False, unique=True),
    Column("actor_id", GUID(length=16), nullable=True),
    Column("created_at", TS, nullable=False),
    CheckConstraint("tokens_used > 0", name="tokens_used_positive"),
    Index("ix_token_usage_user_created", "user_id", "created_at", "id"),
    Index("ix_token_usage_slot", "slot_id"),
)
