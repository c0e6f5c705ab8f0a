"""Identity tables: users, refresh sessions, sign-in failures, one-time codes, vendor keys,
audit, permissions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from mas.adapters.db.base import Base

TS = DateTimeUTC(timezone=True)


class UserRow(Base):
    __tablename__ = "users"
    __table_args__ = (
        Index(
            "uq_users_google_id",
            "google_id",
            unique=True,
            sqlite_where=text("google_id IS NOT NULL"),
            postgresql_where=text("google_id IS NOT NULL"),
        ),
        Index("ix_users_role_created", "role", "created_at"),
    )

    email: Mapped[str] = mapped_column(String(255), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    full_name: Mapped[str | None] = mapped_column(String(255), default=None)
    phone: Mapped[str | None] = mapped_column(String(20), default=None)
    profession: Mapped[str | None] = mapped_column(String(255), default=None)
    domain: Mapped[str | None] = mapped_column(String(255), default=None)
    role: Mapped[str] = mapped_column(String(32))
    is_super_mentor: Mapped[bool] = mapped_column(Boolean, default=False)
    profile_photo: Mapped[str | None] = mapped_column(Text, default=None)
    google_id: Mapped[str | None] = mapped_column(String(255), default=None)
    is_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    is_profile_complete: Mapped[bool] = mapped_column(Boolean, default=False)
    stage: Mapped[int] = mapped_column(Integer, default=1)
    signup_platform: Mapped[str] = mapped_column(String(32))
    is_blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    token_version: Mapped[int] = mapped_column(Integer, default=0)
    password_changed_at: Mapped[datetime | None] = mapped_column(TS, default=None)
    last_login_at: Mapped[datetime | None] = mapped_column(TS, default=None)
    deleted_at: Mapped[datetime | None] = mapped_column(TS, default=None)


class RefreshTokenRow(Base):
    __tablename__ = "refresh_tokens"
    __table_args__ = (
        Index("ix_refresh_tokens_user", "user_id"),
        Index("ix_refresh_tokens_family", "family_id"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family_id: Mapped[uuid.UUID] = mapped_column()
    platform: Mapped[str] = mapped_column(String(32))
    auth_method: Mapped[str] = mapped_column(String(16))
    ip: Mapped[str | None] = mapped_column(String(45), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(500), default=None)
    expires_at: Mapped[datetime] = mapped_column(TS)
    last_used_at: Mapped[datetime | None] = mapped_column(TS, default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(TS, default=None)
    revoked_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    replaced_by_id: Mapped[uuid.UUID | None] = mapped_column(default=None)


class AccountThrottleRow(Base):
    """Consecutive failed sign-ins per account (``subject``: keyed digest of the email)."""

    __tablename__ = "account_throttles"

    subject: Mapped[str] = mapped_column(String(64), unique=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt_at: Mapped[datetime] = mapped_column(TS)
    blocked_until: Mapped[datetime | None] = mapped_column(TS, default=None)


class OtpCodeRow(Base):
    __tablename__ = "otp_codes"
    __table_args__ = (Index("ix_otp_codes_email_purpose", "email", "purpose", "created_at"),)

    email: Mapped[str] = mapped_column(String(255))
    purpose: Mapped[str] = mapped_column(String(32))
    code_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column(TS)
    consumed_at: Mapped[datetime | None] = mapped_column(TS, default=None)
    superseded_at: Mapped[datetime | None] = mapped_column(TS, default=None)


class VendorApiKeyRow(Base):
    __tablename__ = "vendor_api_keys"

    vendor_name: Mapped[str] = mapped_column(String(120))
    key_prefix: Mapped[str] = mapped_column(String(12), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(JsonB)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    last_used_at: Mapped[datetime | None] = mapped_column(TS, default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(TS, default=None)
    use_count: Mapped[int] = mapped_column(BigInteger, default=0)


class SalesHeadPermissionRow(Base):
    __tablename__ = "sales_head_permissions"
    __table_args__ = (Index("uq_sales_head_permissions", "user_id", "page_key", unique=True),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    page_key: Mapped[str] = mapped_column(String(64))
    granted_by: Mapped[uuid.UUID | None] = mapped_column(default=None)


class AuditEventRow(Base):
    """Append-only: the repository has no update or delete."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_target", "target_user_id", "created_at"),
        Index("ix_audit_events_event", "event", "created_at"),
    )

    actor_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    target_user_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    event: Mapped[str] = mapped_column(String(32))
    platform: Mapped[str | None] = mapped_column(String(32), default=None)
    ip: Mapped[str | None] = mapped_column(String(45), default=None)
    reason: Mapped[str | None] = mapped_column(String(500), default=None)
    detail: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)


class MasterLoginStateRow(Base):
    __tablename__ = "master_login_state"

    last_totp_counter: Mapped[int] = mapped_column(BigInteger, default=0)
