"""The coaching and booking-key tables of the meetings part: ``super_mentor_students`` (who a
super mentor coaches, until the LMS owns batches) and ``slot_booking_keys`` (a booking's
``Idempotency-Key``, unique per student, kept 48 hours)."""

from __future__ import annotations

import uuid
from datetime import datetime

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from mas.adapters.db.base import Base

TS = DateTimeUTC(timezone=True)


class SuperMentorStudentRow(Base):
    __tablename__ = "super_mentor_students"
    __table_args__ = (
        Index("uq_super_mentor_students_pair", "super_mentor_id", "student_id", unique=True),
        Index("ix_super_mentor_students_student", "student_id"),
    )

    super_mentor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    student_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    assigned_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    assigned_at: Mapped[datetime] = mapped_column(TS)


class SlotBookingKeyRow(Base):
    __tablename__ = "slot_booking_keys"
    __table_args__ = (
        Index("uq_slot_booking_keys_student_key", "student_id", "key", unique=True),
        Index("ix_slot_booking_keys_expires", "expires_at"),
    )

    student_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    slot_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("slots.id", ondelete="CASCADE"), default=None
    )
    expires_at: Mapped[datetime] = mapped_column(TS)
