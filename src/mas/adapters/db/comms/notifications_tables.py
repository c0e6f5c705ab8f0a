"""In-app notification tables: the feed, each student's daily count, preferences, broadcasts.

Categories, channels, audiences and statuses are stored as their enum values (short strings)
and checked by the core, like the CRM's tables.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from advanced_alchemy.types import GUID, DateTimeUTC, JsonB
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from mas.adapters.db.base import Base, metadata

TS = DateTimeUTC(timezone=True)


class NotificationBroadcastRow(Base):
    __tablename__ = "notification_broadcasts"
    __table_args__ = (Index("ix_notification_broadcasts_created", "created_at", "id"),)

    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    audience: Mapped[str] = mapped_column(String(16))
    audience_ref: Mapped[str | None] = mapped_column(String(40), default=None)
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(String(500))
    link: Mapped[str | None] = mapped_column(String(300), default=None)
    scheduled_at: Mapped[datetime | None] = mapped_column(TS, default=None)
    status: Mapped[str] = mapped_column(String(16))
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    delivered: Mapped[int] = mapped_column(Integer, default=0)
    capped: Mapped[int] = mapped_column(Integer, default=0)
    skipped_pref: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    # The fan-out's progress: the last user id of the last committed chunk. A run that died
    # resumes after it, so the counters count each recipient once.
    progress_user_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    started_at: Mapped[datetime | None] = mapped_column(TS, default=None)
    sent_at: Mapped[datetime | None] = mapped_column(TS, default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(TS, default=None)


class NotificationRow(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        # The feed (newest first) and the unread count read this index: a B-tree read
        # backwards serves ``created_at DESC, id DESC``, and a plain column list keeps the
        # migration comparable on both databases (an expression index is not reflected).
        Index("ix_notifications_feed", "user_id", "is_read", "created_at", "id"),
        # NULL keys are distinct on both databases: only keyed notifications are deduplicated.
        UniqueConstraint("user_id", "dedupe_key", name="uq_notifications_user_dedupe"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(String(500))
    link: Mapped[str | None] = mapped_column(String(300), default=None)
    data: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
    broadcast_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("notification_broadcasts.id", ondelete="SET NULL"), default=None
    )
    dedupe_key: Mapped[str | None] = mapped_column(String(150), default=None)
    is_read: Mapped[bool] = mapped_column(Boolean, default=False)
    read_at: Mapped[datetime | None] = mapped_column(TS, default=None)


# Plain tables (no UUID, no audit columns): their primary keys are what identifies a row, and
# only the repositories' hand-written upserts touch them.
notification_daily_counts = Table(
    "notification_daily_counts",
    metadata,
    Column(
        "user_id", GUID(length=16), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("ist_date", Date, primary_key=True),
    Column("count", Integer, nullable=False),
)

notification_preferences = Table(
    "notification_preferences",
    metadata,
    Column(
        "user_id", GUID(length=16), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("channel", String(16), primary_key=True),
    Column("category", String(16), primary_key=True),
    Column("enabled", Boolean, nullable=False),
)
