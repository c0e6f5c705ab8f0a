"""The sales part's tables: discount requests and the pipeline cost ledger.

``uq_discount_requests_active`` lets a student hold one PENDING or APPROVED request per batch;
``pipeline_cost_ledger`` is insert-only (on PostgreSQL a trigger refuses UPDATE and DELETE) and
unique on the provider call's idempotency key.
"""

from __future__ import annotations

from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    text,
)

from mas.adapters.db.base import metadata

TS = DateTimeUTC(timezone=True)
ACTIVE = "status IN ('PENDING', 'APPROVED')"

discount_requests = Table(
    "discount_requests",
    metadata,
    Column("id", GUID, primary_key=True),
    Column("student_user_id", GUID, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    Column("student_email", String(254), nullable=False),
    Column("batch_id", GUID, nullable=False),
    Column("batch_fee_paise", BigInteger, nullable=False),
    Column("requested_price_paise", BigInteger, nullable=False),
    Column("approved_price_paise", BigInteger, nullable=True),
    Column("reason", String(1000), nullable=False),
    Column("status", String(16), nullable=False),
    Column("requested_by", GUID, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("decided_by", GUID, nullable=True),
    Column("decided_at", TS, nullable=True),
    Column("decision_note", String(1000), nullable=True),
    Column("valid_until", TS, nullable=True),
    Column("consumed_payment_id", GUID, nullable=True),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    CheckConstraint(
        "requested_price_paise > 0 AND requested_price_paise < batch_fee_paise",
        name="discount_requests_price_below_fee",
    ),
    Index(
        "uq_discount_requests_active",
        "student_email",
        "batch_id",
        unique=True,
        sqlite_where=text(ACTIVE),
        postgresql_where=text(ACTIVE),
    ),
    Index("ix_discount_requests_requester", "requested_by", "created_at"),
    Index("ix_discount_requests_status", "status", "created_at"),
)

pipeline_cost_ledger = Table(
    "pipeline_cost_ledger",
    metadata,
    Column("id", GUID, primary_key=True),
    Column("job_id", GUID, nullable=False),
    Column("candidate_id", GUID, nullable=True),
    Column("stage", String(16), nullable=False),
    Column("provider", String(16), nullable=False),
    Column("units", BigInteger, nullable=False),
    Column("unit_type", String(16), nullable=False),
    Column("cost_millipaise", BigInteger, nullable=False),
    Column("original_amount_micros", BigInteger, nullable=True),
    Column("original_currency", String(3), nullable=True),
    Column("fx_rate_ppm", BigInteger, nullable=True),
    Column("idempotency_key", String(200), nullable=False, unique=True),
    Column("occurred_at", TS, nullable=False),
    Column("created_at", TS, nullable=False),
    Index("ix_pipeline_cost_ledger_job", "job_id", "occurred_at"),
    Index("ix_pipeline_cost_ledger_occurred", "occurred_at"),
)
