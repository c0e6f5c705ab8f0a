"""workflow definitions (workflows, published versions)

Revision ID: 0026_workflow_definitions
Revises: 0025_finance_sales
Create Date: 2026-12-05 22:10:00
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0026_workflow_definitions"
down_revision: str | None = "0025_finance_sales"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GUID = advanced_alchemy.types.guid.GUID(length=16)
TS = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)
JSON = advanced_alchemy.types.JsonB
NOT_ARCHIVED = "status <> 'ARCHIVED'"


def upgrade() -> None:
    op.create_table(
        "workflows",
        sa.Column("id", GUID, nullable=False),
        sa.Column("name", sa.String(length=150), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("trigger_type", sa.String(length=16), nullable=False),
        sa.Column("trigger_config", JSON, nullable=False),
        sa.Column("draft_graph", JSON, nullable=False),
        sa.Column("published_version", sa.Integer(), nullable=True),
        sa.Column("reenroll_policy", sa.String(length=16), nullable=False),
        sa.Column("exit_on_statuses", JSON, nullable=False),
        sa.Column("send_window", JSON, nullable=False),
        sa.Column("last_scan_at", TS, nullable=True),
        sa.Column("next_scan_at", TS, nullable=True),
        sa.Column("created_by", GUID, nullable=True),
        sa.Column("updated_by", GUID, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("archived_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflows")),
    )
    op.create_index(
        "uq_workflows_name",
        "workflows",
        ["name"],
        unique=True,
        sqlite_where=sa.text(NOT_ARCHIVED),
        postgresql_where=sa.text(NOT_ARCHIVED),
    )
    op.create_index("ix_workflows_status", "workflows", ["status", "created_at"])
    op.create_index("ix_workflows_scan", "workflows", ["status", "trigger_type", "next_scan_at"])
    op.create_table(
        "workflow_versions",
        sa.Column("workflow_id", GUID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("graph", JSON, nullable=False),
        sa.Column("published_by", GUID, nullable=True),
        sa.Column("published_at", TS, nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["workflow_id"],
            ["workflows.id"],
            name=op.f("fk_workflow_versions_workflow_id_workflows"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workflow_id", "version", name=op.f("pk_workflow_versions")),
    )


def downgrade() -> None:
    op.drop_table("workflow_versions")
    for name in ("ix_workflows_scan", "ix_workflows_status", "uq_workflows_name"):
        op.drop_index(name, table_name="workflows")
    op.drop_table("workflows")
