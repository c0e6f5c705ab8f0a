"""workflow hire (Mr. Hire workflow rules)

Revision ID: 0028_workflow_hire
Revises: 0027_workflow_runs
Create Date: 2026-12-05 22:10:00
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0028_workflow_hire"
down_revision: str | None = "0027_workflow_runs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GUID = advanced_alchemy.types.guid.GUID(length=16)
TS = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)
JSON = advanced_alchemy.types.JsonB
RUNNABLE = "deleted_at IS NULL AND is_active"


def upgrade() -> None:
    op.create_table(
        "workflow_rules",
        sa.Column("id", GUID, nullable=False),
        sa.Column("owner_id", GUID, nullable=False),
        sa.Column("name", sa.String(length=150), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("conditions", JSON, nullable=False),
        sa.Column("actions", JSON, nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("deleted_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_workflow_rules_owner_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_rules")),
    )
    with op.batch_alter_table("workflow_rules", schema=None) as batch_op:
        batch_op.create_index(
            "ix_workflow_rules_owner", ["owner_id", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_workflow_rules_event",
            ["event"],
            unique=False,
            sqlite_where=sa.text(RUNNABLE),
            postgresql_where=sa.text(RUNNABLE),
        )


def downgrade() -> None:
    op.drop_table("workflow_rules")
