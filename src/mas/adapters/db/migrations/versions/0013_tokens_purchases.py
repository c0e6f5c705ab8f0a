"""tokens purchases (token purchases through the payment gateway)

Revision ID: 0013_tokens_purchases
Revises: 0012_tokens_wallet
Create Date: 2026-12-04 23:10:00
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0013_tokens_purchases"
down_revision: str | None = "0012_tokens_wallet"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


GUID = advanced_alchemy.types.guid.GUID(length=16)


def _ts() -> sa.types.TypeEngine[object]:
    return advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)


def _audit() -> list[sa.Column[object]]:
    return [
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "token_purchases",
        sa.Column("id", GUID, nullable=False),
        sa.Column("user_id", GUID, nullable=False),
        sa.Column("pack_code", sa.String(length=20), nullable=False),
        sa.Column("token_quantity", sa.Integer(), nullable=False),
        sa.Column("amount_paise", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("payment_status", sa.String(length=16), nullable=False),
        sa.Column("razorpay_order_id", sa.String(length=64), nullable=True),
        sa.Column("razorpay_payment_id", sa.String(length=64), nullable=True),
        sa.Column("razorpay_signature", sa.String(length=128), nullable=True),
        sa.Column("payment_details", advanced_alchemy.types.JsonB, nullable=True),
        sa.Column("failure_reason", sa.String(length=300), nullable=True),
        sa.Column("completed_at", _ts(), nullable=True),
        *_audit(),
        sa.CheckConstraint(
            "token_quantity BETWEEN 1 AND 50", name=op.f("ck_token_purchases_token_quantity_range")
        ),
        sa.CheckConstraint("amount_paise > 0", name=op.f("ck_token_purchases_amount_positive")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_token_purchases_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_token_purchases")),
    )
    with op.batch_alter_table("token_purchases", schema=None) as batch_op:
        batch_op.create_index("uq_token_purchases_order_id", ["razorpay_order_id"], unique=True)
        batch_op.create_index("uq_token_purchases_payment_id", ["razorpay_payment_id"], unique=True)
        batch_op.create_index("ix_token_purchases_user", ["user_id", "created_at"], unique=False)
        batch_op.create_index(
            "ix_token_purchases_status", ["payment_status", "created_at"], unique=False
        )

    op.create_table(
        "payment_webhook_events",
        sa.Column("id", GUID, nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("payload", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("received_at", _ts(), nullable=False),
        sa.Column("purchase_id", GUID, nullable=True),
        *_audit(),
        sa.ForeignKeyConstraint(
            ["purchase_id"],
            ["token_purchases.id"],
            name=op.f("fk_payment_webhook_events_purchase_id_token_purchases"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_webhook_events")),
    )
    with op.batch_alter_table("payment_webhook_events", schema=None) as batch_op:
        batch_op.create_index("uq_payment_webhook_events_event_id", ["event_id"], unique=True)


def downgrade() -> None:
    op.drop_table("payment_webhook_events")
    op.drop_table("token_purchases")
