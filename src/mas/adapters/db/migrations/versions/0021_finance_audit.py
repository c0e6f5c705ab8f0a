"""finance audit (the hash-chained GST audit log)

Revision ID: 0021_finance_audit
Revises: 0020_mentorship_coaching
Create Date: 2026-12-05 01:30:00
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0021_finance_audit"
down_revision: str | None = "0020_mentorship_coaching"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GUID = advanced_alchemy.types.guid.GUID(length=16)
TS = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)
GENESIS = "0" * 64

APPEND_ONLY = [
    """
CREATE OR REPLACE FUNCTION gst_audit_log_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'gst_audit_log is append-only';
END;
$$ LANGUAGE plpgsql
""",
    """
CREATE TRIGGER gst_audit_log_append_only BEFORE UPDATE OR DELETE ON gst_audit_log
FOR EACH ROW EXECUTE FUNCTION gst_audit_log_append_only()
""",
]


def upgrade() -> None:
    op.create_table(
        "gst_audit_log",
        sa.Column("id", GUID, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("entity_type", sa.String(length=16), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("actor_id", GUID, nullable=True),
        sa.Column("before", advanced_alchemy.types.JsonB, nullable=True),
        sa.Column("after", advanced_alchemy.types.JsonB, nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("row_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gst_audit_log")),
        sa.UniqueConstraint("seq", name=op.f("uq_gst_audit_log_seq")),
    )
    op.create_index("ix_gst_audit_log_entity", "gst_audit_log", ["entity_type", "entity_id", "seq"])
    head = op.create_table(
        "gst_audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gst_audit_head")),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "last_hash": GENESIS}])
    if op.get_bind().dialect.name == "postgresql":
        for statement in APPEND_ONLY:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS gst_audit_log_append_only ON gst_audit_log")
        op.execute("DROP FUNCTION IF EXISTS gst_audit_log_append_only()")
    op.drop_table("gst_audit_head")
    op.drop_index("ix_gst_audit_log_entity", table_name="gst_audit_log")
    op.drop_table("gst_audit_log")
