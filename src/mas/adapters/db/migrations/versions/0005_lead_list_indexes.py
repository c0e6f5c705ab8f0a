"""lead indexes: lists end with (created_at, id); optional columns indexed where set

Lead lists are ordered by ``created_at DESC, id DESC``. Without ``id`` in the index a page of a
200,000-lead pool sorted every matching row; with it the page is read straight off the index.

The indexes on optional columns (email, alternate phone, assignee, counsellor, next follow-up)
become partial (``WHERE column IS NOT NULL``): a freshly imported lead has none of them set and
no longer costs an entry in each. Every query using them compares the column with a value.

Revision ID: 0005_lead_list_indexes
Revises: 0004_vendor_leads
Create Date: 2026-11-25 15:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_lead_list_indexes"
down_revision: str | None = "0004_vendor_leads"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPTIONAL = {
    "ix_raw_leads_email": ["email"],
    "ix_raw_leads_phone_alt": ["phone_alt"],
    "ix_raw_leads_assigned_status": ["assigned_to", "status"],
    "ix_raw_leads_counsellor_status": ["assigned_counsellor", "status"],
    "ix_raw_leads_next_follow_up": ["next_follow_up_at"],
}


def upgrade() -> None:
    with op.batch_alter_table("raw_leads", schema=None) as batch_op:
        batch_op.drop_index("ix_raw_leads_pool_status")
        batch_op.drop_index("ix_raw_leads_status_created")
        for name in OPTIONAL:
            batch_op.drop_index(name)
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
        for name, columns in OPTIONAL.items():
            where = sa.text(f"{columns[0]} IS NOT NULL")
            batch_op.create_index(
                name, columns, unique=False, sqlite_where=where, postgresql_where=where
            )


def downgrade() -> None:
    with op.batch_alter_table("raw_leads", schema=None) as batch_op:
        for name in OPTIONAL:
            batch_op.drop_index(name)
        batch_op.drop_index("ix_raw_leads_status_created")
        batch_op.drop_index("ix_raw_leads_pool_created")
        batch_op.drop_index("ix_raw_leads_pool_status")
        for name, columns in OPTIONAL.items():
            batch_op.create_index(name, columns, unique=False)
        batch_op.create_index("ix_raw_leads_status_created", ["status", "created_at"], unique=False)
        batch_op.create_index(
            "ix_raw_leads_pool_status",
            ["owning_sales_head_id", "status", "created_at"],
            unique=False,
        )
