"""The mail part's table: editable email templates (communications.md §3).

The send log has no table of its own: it is the platform outbox (``outbox_messages``), which
carries the idempotency key, the related record and the sender for communications.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import Boolean, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from mas.adapters.db.base import Base

TS = DateTimeUTC(timezone=True)
LIVE = text("deleted_at IS NULL")


class EmailTemplateRow(Base):
    __tablename__ = "email_templates"
    __table_args__ = (
        # A key names one live template; a deleted one frees its key.
        Index(
            "uq_email_templates_key", "key", unique=True, sqlite_where=LIVE, postgresql_where=LIVE
        ),
        Index("ix_email_templates_pool", "owner_scope", "sales_head_id", "key"),
    )

    key: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(150))
    subject: Mapped[str] = mapped_column(String(200))
    body_html: Mapped[str] = mapped_column(Text)
    body_text: Mapped[str | None] = mapped_column(Text, default=None)
    variables: Mapped[list[str]] = mapped_column(JsonB, default=list)
    category: Mapped[str] = mapped_column(String(16))
    owner_scope: Mapped[str] = mapped_column(String(8))
    sales_head_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(default=None)
    updated_by: Mapped[uuid.UUID | None] = mapped_column(default=None)
    deleted_at: Mapped[datetime | None] = mapped_column(TS, default=None)
