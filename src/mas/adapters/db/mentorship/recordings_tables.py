"""The recordings part's table: ``meeting_recordings`` (metadata; the media is in storage).

Statuses and media types are stored as their enum values and checked by the core. The two
indexes serve the purge's sweeps (status with the time each one reads) and the ADMIN's list by
meeting.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from mas.adapters.db.base import Base

TS = DateTimeUTC(timezone=True)


class MeetingRecordingRow(Base):
    __tablename__ = "meeting_recordings"
    __table_args__ = (
        Index("ix_meeting_recordings_slot_started", "slot_id", "started_at"),
        Index("ix_meeting_recordings_status_started", "status", "started_at"),
        Index("ix_meeting_recordings_status_deleted", "status", "deleted_at"),
    )

    slot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("slots.id", ondelete="CASCADE"))
    storage_key: Mapped[str] = mapped_column(String(1024))
    upload_id: Mapped[str] = mapped_column(String(1024))
    status: Mapped[str] = mapped_column(String(16))
    mime_type: Mapped[str] = mapped_column(String(32), default="video/webm")
    size_bytes: Mapped[int | None] = mapped_column(BigInteger, default=None)
    duration_seconds: Mapped[int | None] = mapped_column(Integer, default=None)
    started_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    started_at: Mapped[datetime] = mapped_column(TS)
    completed_at: Mapped[datetime | None] = mapped_column(TS, default=None)
    deleted_at: Mapped[datetime | None] = mapped_column(TS, default=None)
    purged_at: Mapped[datetime | None] = mapped_column(TS, default=None)
