"""The meetings part's tables: ``slots`` (availability, booking and meeting in one row) and
``slots_feedback`` (one per side of a completed meeting) and ``availability_requests``.

Statuses and reasons are stored as their enum values and checked by the core. The partial
unique index keeps one live row per (mentor, start): two publishes racing cannot both write.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from mas.adapters.db.base import Base

TS = DateTimeUTC(timezone=True)
LIVE_SQL = "status IN ('open', 'tentative', 'confirmed', 'cancellation_requested')"


class SlotRow(Base):
    __tablename__ = "slots"
    __table_args__ = (
        Index(
            "uq_slots_mentor_start_live",
            "mentor_id",
            "start_date_time",
            unique=True,
            sqlite_where=text(LIVE_SQL),
            postgresql_where=text(LIVE_SQL),
        ),
        Index("ix_slots_mentor_start", "mentor_id", "start_date_time"),
        Index("ix_slots_student_start", "student_id", "start_date_time"),
        Index("ix_slots_status_start", "status", "start_date_time"),
    )

    mentor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    student_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    start_date_time: Mapped[datetime] = mapped_column(TS)
    end_date_time: Mapped[datetime] = mapped_column(TS)
    is_available: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(24))
    meeting_type: Mapped[str] = mapped_column(String(16))
    agenda: Mapped[str | None] = mapped_column(String(24), default=None)
    booking_note: Mapped[str | None] = mapped_column(String(1000), default=None)
    requested_at: Mapped[datetime | None] = mapped_column(TS, default=None)
    decided_at: Mapped[datetime | None] = mapped_column(TS, default=None)
    cancelled_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    cancel_reason: Mapped[str | None] = mapped_column(String(500), default=None)
    expiry_reason: Mapped[str | None] = mapped_column(String(24), default=None)
    actual_start_time: Mapped[datetime | None] = mapped_column(TS, default=None)
    actual_end_time: Mapped[datetime | None] = mapped_column(TS, default=None)
    duration_minutes: Mapped[int | None] = mapped_column(Integer, default=None)
    earnings_credited: Mapped[bool] = mapped_column(Boolean, default=False)
    earnings_credited_at: Mapped[datetime | None] = mapped_column(TS, default=None)
    room_id: Mapped[str] = mapped_column(String(64))
    calendar_event_id: Mapped[str | None] = mapped_column(String(255), default=None)
    email_action_nonce: Mapped[str | None] = mapped_column(String(32), default=None)
    reminder_24h_sent_at: Mapped[datetime | None] = mapped_column(TS, default=None)
    reminder_15m_sent_at: Mapped[datetime | None] = mapped_column(TS, default=None)
    version: Mapped[int] = mapped_column(Integer, default=1)


class SlotFeedbackRow(Base):
    __tablename__ = "slots_feedback"
    __table_args__ = (
        Index("uq_slots_feedback_slot_author", "slot_id", "author_role", unique=True),
    )

    slot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("slots.id", ondelete="CASCADE"))
    author_role: Mapped[str] = mapped_column(String(8))
    rating: Mapped[float] = mapped_column(Float)
    experience: Mapped[str] = mapped_column(String(16))
    is_mentor_joined_on_time: Mapped[bool | None] = mapped_column(Boolean, default=None)
    comments: Mapped[str] = mapped_column(Text, default="")


class AvailabilityRequestRow(Base):
    __tablename__ = "availability_requests"
    __table_args__ = (
        Index("ix_availability_requests_student_status", "student_id", "status"),
        Index("ix_availability_requests_mentor_status", "mentor_id", "status"),
        Index("ix_availability_requests_status_created", "status", "created_at"),
    )

    student_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    mentor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    preferred_date: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(16))
    resolved_at: Mapped[datetime | None] = mapped_column(TS, default=None)
