"""The room part's table: ``meeting_participants``, one row per stay of the student or the
mentor in a meeting's room (observers and admins are not logged)."""

from __future__ import annotations

import uuid
from datetime import datetime

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from mas.adapters.db.base import Base

TS = DateTimeUTC(timezone=True)


class MeetingParticipantRow(Base):
    __tablename__ = "meeting_participants"
    __table_args__ = (Index("ix_meeting_participants_slot", "slot_id", "joined_at"),)

    slot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("slots.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(8))
    joined_at: Mapped[datetime] = mapped_column(TS)
    left_at: Mapped[datetime | None] = mapped_column(TS, default=None)
