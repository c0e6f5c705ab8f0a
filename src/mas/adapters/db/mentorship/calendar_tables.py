"""The calendar part's table: ``google_auth_tokens`` (mentorship.md §3), one row per owner.

``owner_key`` is the owner's user id, or ``platform`` for the platform's account (the row whose
``owner_user_id`` is null): a plain unique column says "one credential per owner" the same way
on SQLite and PostgreSQL, where a unique index over a nullable column would let several
platform rows in. Both tokens are sealed by the secret box under ``key_version``.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from mas.adapters.db.base import Base

TS = DateTimeUTC(timezone=True)


class GoogleAuthTokenRow(Base):
    __tablename__ = "google_auth_tokens"

    owner_key: Mapped[str] = mapped_column(String(36), unique=True)
    owner_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), default=None
    )
    access_token: Mapped[bytes] = mapped_column(LargeBinary)
    refresh_token: Mapped[bytes] = mapped_column(LargeBinary)
    key_version: Mapped[int] = mapped_column(Integer)
    expiry_date: Mapped[datetime] = mapped_column(TS)
    scope: Mapped[str] = mapped_column(String(1000), default="")
    connected_at: Mapped[datetime] = mapped_column(TS)
