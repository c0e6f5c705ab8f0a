"""tokens earnings (mentor earnings, the journal of earnings and withdrawals)

Revision ID: 0014_tokens_earnings
Revises: 0013_tokens_purchases
Create Date: 2026-12-04 23:10:00
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0014_tokens_earnings"
down_revision: str | None = "0013_tokens_purchases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GUID = advanced_alchemy.types.guid.GUID(length=16)
TS = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)
OPEN_WITHDRAWAL = sa.text("type = 'withdrawal' AND status IN ('requested', 'in_process')")


def _audit() -> list[sa.Column[object]]:
    return [
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "mentor_earnings",
        sa.Column("id", GUID, nullable=False),
        sa.Column("mentor_id", GUID, nullable=False),
        sa.Column("total_earnings_paise", sa.BigInteger(), nullable=False),
        sa.Column("available_balance_paise", sa.BigInteger(), nullable=False),
        sa.Column("pending_withdrawal_paise", sa.BigInteger(), nullable=False),
        sa.Column("withdrawn_amount_paise", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        *_audit(),
        sa.CheckConstraint(
            "total_earnings_paise = available_balance_paise + pending_withdrawal_paise"
            " + withdrawn_amount_paise",
            name=op.f("ck_mentor_earnings_balanced"),
        ),
        sa.CheckConstraint(
            "available_balance_paise >= 0 AND pending_withdrawal_paise >= 0"
            " AND withdrawn_amount_paise >= 0",
            name=op.f("ck_mentor_earnings_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["mentor_id"],
            ["users.id"],
            name=op.f("fk_mentor_earnings_mentor_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mentor_earnings")),
    )
    with op.batch_alter_table("mentor_earnings", schema=None) as batch_op:
        batch_op.create_index("uq_mentor_earnings_mentor", ["mentor_id"], unique=True)

    op.create_table(
        "mentor_transactions",
        sa.Column("id", GUID, nullable=False),
        sa.Column("mentor_id", GUID, nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("amount_paise", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("slot_id", GUID, nullable=True),
        sa.Column("tokens", sa.Integer(), nullable=True),
        sa.Column("token_value_paise", sa.BigInteger(), nullable=True),
        sa.Column("payment_method", sa.String(length=8), nullable=True),
        sa.Column("bank_upi", sa.String(length=255), nullable=True),
        sa.Column("payout_mode", sa.String(length=16), nullable=True),
        sa.Column("transaction_id", sa.String(length=100), nullable=True),
        sa.Column("razorpay_payout_id", sa.String(length=64), nullable=True),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("failure_reason", sa.String(length=500), nullable=True),
        sa.Column("processed_by", GUID, nullable=True),
        sa.Column("completed_at", TS, nullable=True),
        *_audit(),
        sa.ForeignKeyConstraint(
            ["mentor_id"],
            ["users.id"],
            name=op.f("fk_mentor_transactions_mentor_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["processed_by"],
            ["users.id"],
            name=op.f("fk_mentor_transactions_processed_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mentor_transactions")),
    )
    with op.batch_alter_table("mentor_transactions", schema=None) as batch_op:
        batch_op.create_index("uq_mentor_transactions_slot", ["slot_id"], unique=True)
        batch_op.create_index(
            "uq_mentor_transactions_open_withdrawal",
            ["mentor_id"],
            unique=True,
            sqlite_where=OPEN_WITHDRAWAL,
            postgresql_where=OPEN_WITHDRAWAL,
        )
        batch_op.create_index("uq_mentor_transactions_payout", ["razorpay_payout_id"], unique=True)
        batch_op.create_index(
            "ix_mentor_transactions_mentor", ["mentor_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_mentor_transactions_type_status", ["type", "status", "created_at"], unique=False
        )


def downgrade() -> None:
    op.drop_table("mentor_transactions")
    op.drop_table("mentor_earnings")
