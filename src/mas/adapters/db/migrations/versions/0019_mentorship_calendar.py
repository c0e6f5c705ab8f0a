"""mentorship calendar (per-owner Google credentials)

Revision ID: 0019_mentorship_calendar
Revises: 0018_mentorship_recordings
Create Date: 2026-12-04 23:20:00
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0019_mentorship_calendar"
down_revision: str | None = "0018_mentorship_recordings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


TS = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)


def upgrade() -> None:
    op.create_table(
        "google_auth_tokens",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("owner_key", sa.String(length=36), nullable=False),
        sa.Column("owner_user_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("access_token", sa.LargeBinary(), nullable=False),
        sa.Column("refresh_token", sa.LargeBinary(), nullable=False),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.Column("expiry_date", TS, nullable=False),
        sa.Column("scope", sa.String(length=1000), nullable=False),
        sa.Column("connected_at", TS, nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_user_id"],
            ["users.id"],
            name=op.f("fk_google_auth_tokens_owner_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_google_auth_tokens")),
        sa.UniqueConstraint("owner_key", name=op.f("uq_google_auth_tokens_owner_key")),
    )


def downgrade() -> None:
    op.drop_table("google_auth_tokens")
