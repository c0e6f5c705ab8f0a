"""Platform tables: the job ledger, its "run at" queue, the outbox, leases, the shared cache."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from mas.adapters.db.base import Base, metadata


class JobRunRow(Base):
    __tablename__ = "job_runs"
    __table_args__ = (
        # One live run per (task, key); skipped duplicates are kept beside it for the record.
        Index(
            "uq_job_runs_task_key",
            "task",
            "idempotency_key",
            unique=True,
            sqlite_where=text("status != 'skipped'"),
            postgresql_where=text("status != 'skipped'"),
        ),
        Index("ix_job_runs_status_enqueued", "status", "enqueued_at"),
        Index("ix_job_runs_enqueued", "enqueued_at", "id"),
        Index("ix_job_runs_task_enqueued", "task", "enqueued_at"),
    )

    task: Mapped[str] = mapped_column(String(120))
    idempotency_key: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    args: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    enqueued_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    finished_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    next_attempt_at: Mapped[datetime | None] = mapped_column(
        DateTimeUTC(timezone=True), default=None
    )
    lease_until: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    duplicate_of: Mapped[uuid.UUID | None] = mapped_column(default=None)


class JobRunAtRow(Base):
    """One-shot "run at" work: retries and delayed runs, claimed with SKIP LOCKED."""

    __tablename__ = "job_run_at"
    __table_args__ = (Index("ix_job_run_at_due", "run_at"),)

    run_id: Mapped[uuid.UUID] = mapped_column()
    task: Mapped[str] = mapped_column(String(120))
    run_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    # Set while a releaser sends the run; a releaser that dies leaves it to lapse.
    claimed_until: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)


class OutboxMessageRow(Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_messages_status", "status", "created_at"),
        Index("ix_outbox_messages_recipient", "recipient"),
        # The send log (communications): one row per idempotency key, and its two filters.
        Index("uq_outbox_messages_idempotency_key", "idempotency_key", unique=True),
        Index("ix_outbox_messages_related", "related_type", "related_id", "created_at"),
        Index("ix_outbox_messages_sent_by", "sent_by", "created_at"),
    )

    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(320))
    sender: Mapped[str | None] = mapped_column(String(320), default=None)
    subject: Mapped[str] = mapped_column(String(500))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text, default=None)
    template: Mapped[str | None] = mapped_column(String(120), default=None)
    status: Mapped[str] = mapped_column(String(16))
    transport: Mapped[str | None] = mapped_column(String(32), default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    sent_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), default=None)
    related_type: Mapped[str | None] = mapped_column(String(40), default=None)
    related_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    sent_by: Mapped[uuid.UUID | None] = mapped_column(default=None)
    # Storage keys of the files delivery attaches (migration 0023, invoice PDFs).
    attachment_keys: Mapped[list[str] | None] = mapped_column(JsonB, default=None)


class OutboxEventRow(Base):
    __tablename__ = "outbox_events"
    __table_args__ = (Index("ix_outbox_events_unpublished", "published_at", "created_at"),)

    subject: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JsonB)
    published_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)


class LeaseRow(Base):
    """A named lease (the scheduler's leader lock) shared by every process on the database."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(120), unique=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    # How far the holders have done the lease's work (the scheduler: the last cron tick time
    # fired), kept across holders so a new one resumes there (migration 0030).
    watermark: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)


CACHE_KEY_LENGTH = 255

# The ``Cache`` port shared through the database (``mas.adapters.cache.database``). A plain
# table, not a mapped class: the key is the primary key (no UUID, no audit columns), and only
# the cache adapter's hand-written upserts touch it. ``counter`` holds an ``incr`` counter
# (``value`` is then NULL), so increments are one atomic ``UPDATE`` of an integer.
cache_entries = Table(
    "cache_entries",
    metadata,
    Column("key", String(CACHE_KEY_LENGTH), primary_key=True),
    Column("value", LargeBinary, nullable=True),
    Column("counter", BigInteger, nullable=True),
    Column("expires_at", DateTimeUTC(timezone=True), nullable=False),
    Index("ix_cache_entries_expires_at", "expires_at"),
)
