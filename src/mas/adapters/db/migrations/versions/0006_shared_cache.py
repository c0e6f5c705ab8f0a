"""the shared cache table (several processes on the embedded default)

``cache_entries`` backs the ``Cache`` port when several processes share one database and no
NATS: revoked sessions, account snapshots and rate-limit counters are seen by every process.

Revision ID: 0006_shared_cache
Revises: 0005_lead_list_indexes
Create Date: 2026-12-04 19:40:00
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0006_shared_cache"
down_revision: str | None = "0005_lead_list_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cache_entries",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=True),
        sa.Column("counter", sa.BigInteger(), nullable=True),
        sa.Column(
            "expires_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_cache_entries")),
    )
    with op.batch_alter_table("cache_entries", schema=None) as batch_op:
        batch_op.create_index("ix_cache_entries_expires_at", ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cache_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_cache_entries_expires_at")
    op.drop_table("cache_entries")
