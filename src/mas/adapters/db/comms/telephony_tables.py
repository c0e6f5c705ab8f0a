"""Telephony tables: a lead's call log and SMS log (communications.md §3)."""

from __future__ import annotations

import uuid
from datetime import datetime

from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mas.adapters.db.base import Base

TS = DateTimeUTC(timezone=True)


class LeadCallLogRow(Base):
    __tablename__ = "lead_call_logs"
    __table_args__ = (
        Index("uq_lead_call_logs_provider_call_id", "provider_call_id", unique=True),
        Index("ix_lead_call_logs_lead", "raw_lead_id", "created_at", "id"),
        Index("ix_lead_call_logs_agent", "user_id", "created_at"),
        Index("ix_lead_call_logs_status", "status", "created_at"),
    )

    raw_lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("raw_leads.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    source: Mapped[str] = mapped_column(String(16))
    provider_call_id: Mapped[str | None] = mapped_column(String(128), default=None)
    agent_number: Mapped[str | None] = mapped_column(String(20), default=None)
    lead_number: Mapped[str | None] = mapped_column(String(20), default=None)
    caller_id: Mapped[str | None] = mapped_column(String(20), default=None)
    status: Mapped[str] = mapped_column(String(16))
    duration_s: Mapped[int | None] = mapped_column(Integer, default=None)
    recording_url: Mapped[str | None] = mapped_column(String(1000), default=None)
    outcome: Mapped[str | None] = mapped_column(String(40), default=None)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    raw_callback: Mapped[dict[str, str] | None] = mapped_column(JsonB, default=None)
    started_at: Mapped[datetime | None] = mapped_column(TS, default=None)
    ended_at: Mapped[datetime | None] = mapped_column(TS, default=None)


class LeadSmsLogRow(Base):
    """A lead's SMS, or one another domain queued through the messenger (``idempotency_key``;
    ``raw_lead_id`` only when it is to a lead)."""

    __tablename__ = "lead_sms_logs"
    __table_args__ = (
        Index("uq_lead_sms_logs_provider_sid", "provider_sid", unique=True),
        Index("uq_lead_sms_logs_idempotency_key", "idempotency_key", unique=True),
        Index("ix_lead_sms_logs_lead", "raw_lead_id", "created_at"),
        Index("ix_lead_sms_logs_status", "status", "created_at"),
    )

    raw_lead_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("raw_leads.id", ondelete="CASCADE"), default=None
    )
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    to_number: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(String(1000))
    provider_sid: Mapped[str | None] = mapped_column(String(128), default=None)
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(String(300), default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    status_at: Mapped[datetime] = mapped_column(TS)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), default=None)
    related_type: Mapped[str | None] = mapped_column(String(40), default=None)
    related_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
