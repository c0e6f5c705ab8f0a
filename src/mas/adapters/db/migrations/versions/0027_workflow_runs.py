"""workflow runs (enrollments, node runs, handled events)

Revision ID: 0027_workflow_runs
Revises: 0026_workflow_definitions
Create Date: 2026-12-05 22:10:00
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0027_workflow_runs"
down_revision: str | None = "0026_workflow_definitions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GUID = advanced_alchemy.types.guid.GUID(length=16)
TS = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)
JSON = advanced_alchemy.types.JsonB
LIVE = "status IN ('ACTIVE', 'WAITING', 'FAILED')"
DUE = "status IN ('ACTIVE', 'WAITING')"
CALLS = "call_id IS NOT NULL"


def upgrade() -> None:
    op.create_table(
        "workflow_enrollments",
        sa.Column("id", GUID, nullable=False),
        sa.Column("workflow_id", GUID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("raw_lead_id", GUID, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("current_node_id", sa.String(length=64), nullable=False),
        sa.Column("attempt", sa.Integer(), server_default="1", nullable=False),
        sa.Column("next_run_at", TS, nullable=True),
        sa.Column("waiting_for", sa.String(length=16), nullable=True),
        sa.Column("call_id", sa.String(length=100), nullable=True),
        sa.Column("enrolled_via", sa.String(length=8), nullable=False),
        sa.Column("enrolled_by", GUID, nullable=True),
        sa.Column("context", JSON, nullable=False),
        sa.Column("exit_reason", sa.String(length=200), nullable=True),
        sa.Column("last_error", sa.String(length=2000), nullable=True),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("lock_version", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["workflow_id"],
            ["workflows.id"],
            name=op.f("fk_workflow_enrollments_workflow_id_workflows"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["raw_lead_id"],
            ["raw_leads.id"],
            name=op.f("fk_workflow_enrollments_raw_lead_id_raw_leads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_enrollments")),
    )
    op.create_index(
        "uq_workflow_enrollments_live",
        "workflow_enrollments",
        ["workflow_id", "raw_lead_id"],
        unique=True,
        sqlite_where=sa.text(LIVE),
        postgresql_where=sa.text(LIVE),
    )
    op.create_index(
        "ix_workflow_enrollments_due",
        "workflow_enrollments",
        ["status", "next_run_at"],
        sqlite_where=sa.text(DUE),
        postgresql_where=sa.text(DUE),
    )
    op.create_index(
        "ix_workflow_enrollments_workflow", "workflow_enrollments", ["workflow_id", "status"]
    )
    op.create_index(
        "ix_workflow_enrollments_lead", "workflow_enrollments", ["raw_lead_id", "status"]
    )
    op.create_index(
        "ix_workflow_enrollments_call",
        "workflow_enrollments",
        ["call_id"],
        sqlite_where=sa.text(CALLS),
        postgresql_where=sa.text(CALLS),
    )
    op.create_table(
        "workflow_node_runs",
        sa.Column("id", GUID, nullable=False),
        sa.Column("enrollment_id", GUID, nullable=False),
        sa.Column("node_id", sa.String(length=64), nullable=False),
        sa.Column("node_type", sa.String(length=32), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("input", JSON, nullable=True),
        sa.Column("output", JSON, nullable=True),
        sa.Column("error", sa.String(length=2000), nullable=True),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["workflow_enrollments.id"],
            name=op.f("fk_workflow_node_runs_enrollment_id_workflow_enrollments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_node_runs")),
        sa.UniqueConstraint(
            "enrollment_id",
            "node_id",
            "attempt",
            name=op.f("uq_workflow_node_runs_enrollment_id"),
        ),
    )
    op.create_index(
        "ix_workflow_node_runs_enrollment", "workflow_node_runs", ["enrollment_id", "started_at"]
    )
    op.create_table(
        "workflow_processed_events",
        sa.Column("event_key", sa.String(length=200), nullable=False),
        sa.Column("processed_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("event_key", name=op.f("pk_workflow_processed_events")),
    )


def downgrade() -> None:
    op.drop_table("workflow_processed_events")
    op.drop_index("ix_workflow_node_runs_enrollment", table_name="workflow_node_runs")
    op.drop_table("workflow_node_runs")
    for name in (
        "ix_workflow_enrollments_call",
        "ix_workflow_enrollments_lead",
        "ix_workflow_enrollments_workflow",
        "ix_workflow_enrollments_due",
        "uq_workflow_enrollments_live",
    ):
        op.drop_index(name, table_name="workflow_enrollments")
    op.drop_table("workflow_enrollments")
