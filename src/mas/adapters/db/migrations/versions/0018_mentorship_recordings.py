"""mentorship recordings

Revision ID: 0018_mentorship_recordings
Revises: 0017_mentorship_room
Create Date: 2026-12-04 23:20:00
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0018_mentorship_recordings"
down_revision: str | None = "0017_mentorship_room"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


TS = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)
INDEXES = {
    "ix_meeting_recordings_slot_started": ["slot_id", "started_at"],
    "ix_meeting_recordings_status_deleted": ["status", "deleted_at"],
    "ix_meeting_recordings_status_started": ["status", "started_at"],
}


def upgrade() -> None:
    op.create_table(
        "meeting_recordings",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("slot_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("storage_key", sa.String(length=1024), nullable=False),
        sa.Column("upload_id", sa.String(length=1024), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("mime_type", sa.String(length=32), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column("started_by", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("completed_at", TS, nullable=True),
        sa.Column("deleted_at", TS, nullable=True),
        sa.Column("purged_at", TS, nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["slot_id"],
            ["slots.id"],
            name=op.f("fk_meeting_recordings_slot_id_slots"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["started_by"],
            ["users.id"],
            name=op.f("fk_meeting_recordings_started_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_recordings")),
    )
    with op.batch_alter_table("meeting_recordings", schema=None) as batch_op:
        for name, columns in INDEXES.items():
            batch_op.create_index(name, columns, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("meeting_recordings", schema=None) as batch_op:
        for name in INDEXES:
            batch_op.drop_index(name)
    op.drop_table("meeting_recordings")
