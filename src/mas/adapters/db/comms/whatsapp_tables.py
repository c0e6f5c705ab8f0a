"""WhatsApp tables (communications.md §3): sender configs, the template mirror, messages,
scheduled reminders, encrypted provider credentials and unreadable webhooks kept for inspection.

``request_payload`` is text, not JSON: it holds the exact bytes a retry sends again (a JSON column
would be re-serialised). ``sender_config_id`` is null for the platform's own sender.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from mas.adapters.db.base import Base

TS = DateTimeUTC(timezone=True)


def _where_set(name: str, column: str, *more: str, unique: bool = False) -> Index:
    where = text(f"{column} IS NOT NULL")
    return Index(name, column, *more, unique=unique, sqlite_where=where, postgresql_where=where)


class WhatsAppSenderConfigRow(Base):
    __tablename__ = "whatsapp_sender_configs"
    __table_args__ = (
        # One config per recruiter (its status moves; a second registration is a 409).
        _where_set("uq_whatsapp_sender_configs_owner", "owner_user_id", unique=True),
        Index("ix_whatsapp_sender_configs_status", "status", "created_at"),
    )

    owner_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), default=None
    )
    phone_e164: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str] = mapped_column(String(120))
    provider: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="PENDING")


class WhatsAppTemplateRow(Base):
    __tablename__ = "whatsapp_templates"
    __table_args__ = (
        UniqueConstraint("provider", "name", "language", name="uq_whatsapp_templates_name"),
    )

    provider: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(512))
    language: Mapped[str] = mapped_column(String(15))
    category: Mapped[str | None] = mapped_column(String(20), default=None)
    header: Mapped[str | None] = mapped_column(Text, default=None)
    body: Mapped[str] = mapped_column(Text)
    footer: Mapped[str | None] = mapped_column(Text, default=None)
    buttons: Mapped[list[Any]] = mapped_column(JsonB, default=list)
    param_count: Mapped[int] = mapped_column(Integer, default=0)
    provider_status: Mapped[str] = mapped_column(String(16))
    rejection_reason: Mapped[str | None] = mapped_column(Text, default=None)
    synced_at: Mapped[datetime | None] = mapped_column(TS, default=None)


class WhatsAppMessageRow(Base):
    __tablename__ = "whatsapp_messages"
    __table_args__ = (
        _where_set(
            "uq_whatsapp_messages_provider_id", "provider_message_id", "provider", unique=True
        ),
        _where_set("uq_whatsapp_messages_key", "idempotency_key", unique=True),
        Index("ix_whatsapp_messages_peer", "peer_phone_e164", "direction", "created_at"),
        _where_set("ix_whatsapp_messages_sender", "sender_config_id", "created_at"),
        _where_set("ix_whatsapp_messages_lead", "raw_lead_id", "created_at"),
        _where_set("ix_whatsapp_messages_retry_of", "retry_of_id"),
        Index("ix_whatsapp_messages_status", "status", "created_at"),
        Index("ix_whatsapp_messages_created", "created_at", "id"),
    )

    direction: Mapped[str] = mapped_column(String(8))
    audience: Mapped[str] = mapped_column(String(12))
    raw_lead_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    candidate_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    user_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    sender_config_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("whatsapp_sender_configs.id", ondelete="SET NULL"), default=None
    )
    peer_phone_e164: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(8))
    template_name: Mapped[str | None] = mapped_column(String(512), default=None)
    template_language: Mapped[str | None] = mapped_column(String(15), default=None)
    params: Mapped[list[Any]] = mapped_column(JsonB, default=list)
    body: Mapped[str | None] = mapped_column(Text, default=None)
    media_key: Mapped[str | None] = mapped_column(String(300), default=None)
    provider: Mapped[str] = mapped_column(String(16))
    provider_message_id: Mapped[str | None] = mapped_column(String(256), default=None)
    status: Mapped[str] = mapped_column(String(12))
    error_code: Mapped[str | None] = mapped_column(String(80), default=None)
    error_message: Mapped[str | None] = mapped_column(Text, default=None)
    request_payload: Mapped[str | None] = mapped_column(Text, default=None)
    retry_of_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("whatsapp_messages.id", ondelete="SET NULL"), default=None
    )
    idempotency_key: Mapped[str | None] = mapped_column(String(200), default=None)
    sent_by: Mapped[uuid.UUID | None] = mapped_column(default=None)
    status_at: Mapped[datetime] = mapped_column(TS)
    send_after: Mapped[datetime | None] = mapped_column(TS, default=None)


class WhatsAppReminderRow(Base):
    __tablename__ = "scheduled_whatsapp_reminders"
    __table_args__ = (
        UniqueConstraint("kind", "ref_id", "send_at", name="uq_scheduled_whatsapp_reminders"),
        Index("ix_scheduled_whatsapp_reminders_ref", "kind", "ref_id", "status"),
    )

    kind: Mapped[str] = mapped_column(String(12))
    ref_id: Mapped[uuid.UUID] = mapped_column()
    send_at: Mapped[datetime] = mapped_column(TS)
    message_spec: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
    status: Mapped[str] = mapped_column(String(12))
    message_id: Mapped[uuid.UUID | None] = mapped_column(default=None)


class ProviderCredentialRow(Base):
    __tablename__ = "provider_credentials"
    __table_args__ = (UniqueConstraint("provider", "name", name="uq_provider_credentials_name"),)

    provider: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(60))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    key_version: Mapped[int] = mapped_column(Integer)
    updated_by: Mapped[uuid.UUID | None] = mapped_column(default=None)


class WhatsAppWebhookEventRow(Base):
    __tablename__ = "whatsapp_webhook_events"
    __table_args__ = (Index("ix_whatsapp_webhook_events_received", "received_at"),)

    provider: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(TS)
    error: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
