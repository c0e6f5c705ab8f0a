"""finance payments (the payment mirror and the sync's state row)

Revision ID: 0022_finance_payments
Revises: 0021_finance_audit
Create Date: 2026-12-04 23:20:00
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0022_finance_payments"
down_revision: str | None = "0021_finance_audit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GUID = advanced_alchemy.types.guid.GUID(length=16)
TS = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)
JSON = advanced_alchemy.types.JsonB


def upgrade() -> None:
    op.create_table(
        "global_payments",
        sa.Column("id", GUID, nullable=False),
        sa.Column("razorpay_payment_id", sa.String(length=64), nullable=False),
        sa.Column("razorpay_order_id", sa.String(length=64), nullable=True),
        sa.Column("razorpay_invoice_id", sa.String(length=64), nullable=True),
        sa.Column("amount_paise", sa.BigInteger(), nullable=False),
        sa.Column("amount_refunded_paise", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("gateway_status", sa.String(length=16), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("contact", sa.String(length=32), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("notes", JSON, nullable=False),
        sa.Column("fee_paise", sa.BigInteger(), nullable=True),
        sa.Column("fee_tax_paise", sa.BigInteger(), nullable=True),
        sa.Column("gateway_created_at", TS, nullable=True),
        sa.Column("captured_at", TS, nullable=True),
        sa.Column("raw", JSON, nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("reconciliation_status", sa.String(length=16), nullable=False),
        sa.Column("matched_entity_type", sa.String(length=32), nullable=True),
        sa.Column("matched_entity_id", GUID, nullable=True),
        sa.Column("user_id", GUID, nullable=True),
        sa.Column("ignore_reason", sa.String(length=300), nullable=True),
        sa.Column("match_flag", sa.String(length=32), nullable=True),
        sa.Column("synced_at", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint(
            "amount_paise >= 0", name=op.f("ck_global_payments_amount_not_negative")
        ),
        sa.CheckConstraint(
            "amount_refunded_paise >= 0", name=op.f("ck_global_payments_refund_not_negative")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_global_payments")),
    )
    op.create_index(
        "uq_global_payments_payment_id", "global_payments", ["razorpay_payment_id"], unique=True
    )
    op.create_index("ix_global_payments_order_id", "global_payments", ["razorpay_order_id"])
    op.create_index("ix_global_payments_created", "global_payments", ["gateway_created_at"])
    op.create_index(
        "ix_global_payments_reconciliation",
        "global_payments",
        ["reconciliation_status", "gateway_created_at"],
    )
    op.create_table(
        "global_payment_sync",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_synced_to", TS, nullable=True),
        sa.Column("holder", sa.String(length=64), nullable=True),
        sa.Column("running_since", TS, nullable=True),
        sa.Column("lease_until", TS, nullable=True),
        sa.Column("last_status", sa.String(length=16), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("last_run_at", TS, nullable=True),
        sa.Column("last_window_from", TS, nullable=True),
        sa.Column("last_window_to", TS, nullable=True),
        sa.Column("last_count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_global_payment_sync")),
    )


def downgrade() -> None:
    op.drop_table("global_payment_sync")
    op.drop_index("ix_global_payments_reconciliation", table_name="global_payments")
    op.drop_index("ix_global_payments_created", table_name="global_payments")
    op.drop_index("ix_global_payments_order_id", table_name="global_payments")
    op.drop_index("uq_global_payments_payment_id", table_name="global_payments")
    op.drop_table("global_payments")
