"""finance sales (discount requests, the pipeline cost ledger)

Revision ID: 0025_finance_sales
Revises: 0024_finance_reports
Create Date: 2026-12-05 02:00:00
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0025_finance_sales"
down_revision: str | None = "0024_finance_reports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GUID = advanced_alchemy.types.guid.GUID(length=16)
TS = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)
ACTIVE = "status IN ('PENDING', 'APPROVED')"

APPEND_ONLY = [
    """
CREATE OR REPLACE FUNCTION pipeline_cost_ledger_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'pipeline_cost_ledger is append-only';
END;
$$ LANGUAGE plpgsql
""",
    """
CREATE TRIGGER pipeline_cost_ledger_append_only BEFORE UPDATE OR DELETE ON pipeline_cost_ledger
FOR EACH ROW EXECUTE FUNCTION pipeline_cost_ledger_append_only()
""",
]


def upgrade() -> None:
    op.create_table(
        "discount_requests",
        sa.Column("id", GUID, nullable=False),
        sa.Column("student_user_id", GUID, nullable=True),
        sa.Column("student_email", sa.String(length=254), nullable=False),
        sa.Column("batch_id", GUID, nullable=False),
        sa.Column("batch_fee_paise", sa.BigInteger(), nullable=False),
        sa.Column("requested_price_paise", sa.BigInteger(), nullable=False),
        sa.Column("approved_price_paise", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by", GUID, nullable=False),
        sa.Column("decided_by", GUID, nullable=True),
        sa.Column("decided_at", TS, nullable=True),
        sa.Column("decision_note", sa.String(length=1000), nullable=True),
        sa.Column("valid_until", TS, nullable=True),
        sa.Column("consumed_payment_id", GUID, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint(
            "requested_price_paise > 0 AND requested_price_paise < batch_fee_paise",
            name=op.f("ck_discount_requests_discount_requests_price_below_fee"),
        ),
        sa.ForeignKeyConstraint(
            ["student_user_id"],
            ["users.id"],
            name=op.f("fk_discount_requests_student_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"],
            ["users.id"],
            name=op.f("fk_discount_requests_requested_by_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discount_requests")),
    )
    op.create_index(
        "uq_discount_requests_active",
        "discount_requests",
        ["student_email", "batch_id"],
        unique=True,
        sqlite_where=sa.text(ACTIVE),
        postgresql_where=sa.text(ACTIVE),
    )
    op.create_index(
        "ix_discount_requests_requester", "discount_requests", ["requested_by", "created_at"]
    )
    op.create_index("ix_discount_requests_status", "discount_requests", ["status", "created_at"])
    op.create_table(
        "pipeline_cost_ledger",
        sa.Column("id", GUID, nullable=False),
        sa.Column("job_id", GUID, nullable=False),
        sa.Column("candidate_id", GUID, nullable=True),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.Column("unit_type", sa.String(length=16), nullable=False),
        sa.Column("cost_millipaise", sa.BigInteger(), nullable=False),
        sa.Column("original_amount_micros", sa.BigInteger(), nullable=True),
        sa.Column("original_currency", sa.String(length=3), nullable=True),
        sa.Column("fx_rate_ppm", sa.BigInteger(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_cost_ledger")),
        sa.UniqueConstraint(
            "idempotency_key", name=op.f("uq_pipeline_cost_ledger_idempotency_key")
        ),
    )
    op.create_index(
        "ix_pipeline_cost_ledger_job", "pipeline_cost_ledger", ["job_id", "occurred_at"]
    )
    op.create_index("ix_pipeline_cost_ledger_occurred", "pipeline_cost_ledger", ["occurred_at"])
    if op.get_bind().dialect.name == "postgresql":
        for statement in APPEND_ONLY:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "DROP TRIGGER IF EXISTS pipeline_cost_ledger_append_only ON pipeline_cost_ledger"
        )
        op.execute("DROP FUNCTION IF EXISTS pipeline_cost_ledger_append_only()")
    op.drop_index("ix_pipeline_cost_ledger_occurred", table_name="pipeline_cost_ledger")
    op.drop_index("ix_pipeline_cost_ledger_job", table_name="pipeline_cost_ledger")
    op.drop_table("pipeline_cost_ledger")
    op.drop_index("ix_discount_requests_status", table_name="discount_requests")
    op.drop_index("ix_discount_requests_requester", table_name="discount_requests")
    op.drop_index("uq_discount_requests_active", table_name="discount_requests")
    op.drop_table("discount_requests")
