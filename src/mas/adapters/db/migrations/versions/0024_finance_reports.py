"""finance reports (password-protected exports)

Revision ID: 0024_finance_reports
Revises: 0023_finance_invoicing
Create Date: 2026-12-05 01:40:00
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0024_finance_reports"
down_revision: str | None = "0023_finance_invoicing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GUID = advanced_alchemy.types.guid.GUID(length=16)
TS = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)


def upgrade() -> None:
    op.create_table(
        "finance_exports",
        sa.Column("id", GUID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("period_from", sa.Date(), nullable=False),
        sa.Column("period_to", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by", GUID, nullable=False),
        sa.Column("password_enc", sa.LargeBinary(), nullable=True),
        sa.Column("key_version", sa.Integer(), nullable=True),
        sa.Column("storage_key", sa.String(length=255), nullable=True),
        sa.Column("row_count", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("expires_at", TS, nullable=True),
        sa.Column("download_count", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finance_exports")),
    )
    op.create_index(
        "ix_finance_exports_requester", "finance_exports", ["requested_by", "created_at"]
    )
    op.create_index("ix_finance_exports_status_expiry", "finance_exports", ["status", "expires_at"])


def downgrade() -> None:
    op.drop_index("ix_finance_exports_status_expiry", table_name="finance_exports")
    op.drop_index("ix_finance_exports_requester", table_name="finance_exports")
    op.drop_table("finance_exports")
