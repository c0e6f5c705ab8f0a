"""vendor leads

Revision ID: 0004_vendor_leads
Revises: 0003_crm
Create Date: 2026-11-25 13:06:59.381902
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0004_vendor_leads"
down_revision: str | None = "0003_crm"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "vendor_head_assignments",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("vendor_key_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("sales_head_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("assigned_by", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["sales_head_id"],
            ["users.id"],
            name=op.f("fk_vendor_head_assignments_sales_head_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["vendor_key_id"],
            ["vendor_api_keys.id"],
            name=op.f("fk_vendor_head_assignments_vendor_key_id_vendor_api_keys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vendor_head_assignments")),
        sa.UniqueConstraint("vendor_key_id", name=op.f("uq_vendor_head_assignments_vendor_key_id")),
    )
    op.create_table(
        "vendor_leads",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("vendor_key_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("phone_raw", sa.String(length=40), nullable=True),
        sa.Column("email_raw", sa.String(length=254), nullable=True),
        sa.Column("payload", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reject_reason", sa.String(length=200), nullable=True),
        sa.Column("raw_lead_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("crm_status", sa.String(length=16), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["vendor_key_id"],
            ["vendor_api_keys.id"],
            name=op.f("fk_vendor_leads_vendor_key_id_vendor_api_keys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vendor_leads")),
    )
    with op.batch_alter_table("vendor_leads", schema=None) as batch_op:
        batch_op.create_index("ix_vendor_leads_status", ["status", "created_at"], unique=False)
        batch_op.create_index(
            "uq_vendor_leads_external", ["vendor_key_id", "external_id"], unique=True
        )


def downgrade() -> None:

    with op.batch_alter_table("vendor_leads", schema=None) as batch_op:
        batch_op.drop_index("uq_vendor_leads_external")
        batch_op.drop_index("ix_vendor_leads_status")

    op.drop_table("vendor_leads")
    op.drop_table("vendor_head_assignments")
