"""lead list indexes end with (created_at, id)

Lead lists are ordered by ``created_at DESC, id DESC``. Without ``id`` in the index a page of a
200,000-lead pool sorted every matching row; with it the page is read straight off the index.

Revision ID: 0005_lead_list_indexes
Revises: 0004_vendor_leads
Create Date: 2026-11-25 15:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005_lead_list_indexes"
down_revision: str | None = "0004_vendor_leads"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("raw_leads", schema=None) as batch_op:
        batch_op.drop_index("ix_raw_leads_pool_status")
        batch_op.drop_index("ix_raw_leads_status_created")
        batch_op.create_index(
            "ix_raw_leads_pool_status",
            ["owning_sales_head_id", "status", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_raw_leads_pool_created", ["owning_sales_head_id", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_raw_leads_status_created", ["status", "created_at", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("raw_leads", schema=None) as batch_op:
        batch_op.drop_index("ix_raw_leads_status_created")
        batch_op.drop_index("ix_raw_leads_pool_created")
        batch_op.drop_index("ix_raw_leads_pool_status")
        batch_op.create_index("ix_raw_leads_status_created", ["status", "created_at"], unique=False)
        batch_op.create_index(
            "ix_raw_leads_pool_status",
            ["owning_sales_head_id", "status", "created_at"],
            unique=False,
        )
