"""tokens wallet (wallets, the token ledger, promotional grants, allotment requests)

Revision ID: 0012_tokens_wallet
Revises: 0011_comms_telephony
Create Date: 2026-12-04 23:10:00
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0012_tokens_wallet"
down_revision: str | None = "0011_comms_telephony"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "token_allotment_requests",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("student_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("batch_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("batch_lead_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("token_kind", sa.String(length=8), nullable=False),
        sa.Column("tokens_requested", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column(
            "decided_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True
        ),
        sa.Column("decision_note", sa.String(length=500), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["batch_lead_id"],
            ["users.id"],
            name=op.f("fk_token_allotment_requests_batch_lead_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"],
            ["users.id"],
            name=op.f("fk_token_allotment_requests_decided_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["users.id"],
            name=op.f("fk_token_allotment_requests_student_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_token_allotment_requests")),
    )
    with op.batch_alter_table("token_allotment_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_token_allotments_lead", ["batch_lead_id", "status", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_token_allotments_status_created", ["status", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_token_allotments_student", ["student_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "uq_token_allotments_pending",
            ["student_id", "batch_id", "token_kind"],
            unique=True,
            sqlite_where=sa.text("status = 'PENDING'"),
            postgresql_where=sa.text("status = 'PENDING'"),
        )
    op.create_table(
        "token_promotional_grants",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("user_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("token_kind", sa.String(length=8), nullable=False),
        sa.Column("tokens_granted", sa.Integer(), nullable=False),
        sa.Column("tokens_remaining", sa.Integer(), nullable=False),
        sa.Column(
            "expires_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("granted_by", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "closed_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True
        ),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.CheckConstraint(
            "tokens_remaining >= 0 AND tokens_remaining <= tokens_granted",
            name=op.f("ck_token_promotional_grants_grant_remaining_in_range"),
        ),
        sa.ForeignKeyConstraint(
            ["granted_by"],
            ["users.id"],
            name=op.f("fk_token_promotional_grants_granted_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_token_promotional_grants_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_token_promotional_grants")),
    )
    with op.batch_alter_table("token_promotional_grants", schema=None) as batch_op:
        batch_op.create_index(
            "ix_token_grants_status_expiry", ["status", "expires_at"], unique=False
        )
        batch_op.create_index(
            "uq_token_grants_active",
            ["user_id", "token_kind"],
            unique=True,
            sqlite_where=sa.text("status = 'ACTIVE'"),
            postgresql_where=sa.text("status = 'ACTIVE'"),
        )
    op.create_table(
        "token_usage",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("user_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("slot_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("usage_type", sa.String(length=24), nullable=False),
        sa.Column("token_kind", sa.String(length=8), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("tokens_used", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("balance_before", sa.Integer(), nullable=False),
        sa.Column("balance_after", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("reference_id", sa.String(length=64), nullable=True),
        sa.Column("idempotency_key", sa.String(length=120), nullable=False),
        sa.Column("actor_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column(
            "created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.CheckConstraint("tokens_used > 0", name=op.f("ck_token_usage_tokens_used_positive")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_token_usage_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_token_usage")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_token_usage_idempotency_key")),
    )
    with op.batch_alter_table("token_usage", schema=None) as batch_op:
        batch_op.create_index("ix_token_usage_slot", ["slot_id"], unique=False)
        batch_op.create_index(
            "ix_token_usage_user_created", ["user_id", "created_at", "id"], unique=False
        )
    op.create_table(
        "tokens",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("user_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("token", sa.Integer(), nullable=False),
        sa.Column("resume_tokens", sa.Integer(), nullable=False),
        sa.Column(
            "expires_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.CheckConstraint("resume_tokens >= 0", name=op.f("ck_tokens_resume_tokens_not_negative")),
        sa.CheckConstraint("token >= 0", name=op.f("ck_tokens_token_not_negative")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tokens")),
        sa.UniqueConstraint("user_id", name=op.f("uq_tokens_user_id")),
    )


def downgrade() -> None:
    op.drop_table("tokens")
    with op.batch_alter_table("token_usage", schema=None) as batch_op:
        batch_op.drop_index("ix_token_usage_user_created")
        batch_op.drop_index("ix_token_usage_slot")
    op.drop_table("token_usage")
    with op.batch_alter_table("token_promotional_grants", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_token_grants_active",
            sqlite_where=sa.text("status = 'ACTIVE'"),
            postgresql_where=sa.text("status = 'ACTIVE'"),
        )
        batch_op.drop_index("ix_token_grants_status_expiry")
    op.drop_table("token_promotional_grants")
    with op.batch_alter_table("token_allotment_requests", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_token_allotments_pending",
            sqlite_where=sa.text("status = 'PENDING'"),
            postgresql_where=sa.text("status = 'PENDING'"),
        )
        batch_op.drop_index("ix_token_allotments_student")
        batch_op.drop_index("ix_token_allotments_status_created")
        batch_op.drop_index("ix_token_allotments_lead")
    op.drop_table("token_allotment_requests")
