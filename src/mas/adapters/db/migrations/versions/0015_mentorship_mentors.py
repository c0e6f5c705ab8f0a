"""mentorship mentors (profiles, discovery statistics)

Revision ID: 0015_mentorship_mentors
Revises: 0014_tokens_earnings
Create Date: 2026-12-04 23:20:00
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0015_mentorship_mentors"
down_revision: str | None = "0014_tokens_earnings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)
GUID = advanced_alchemy.types.guid.GUID(length=16)


def upgrade() -> None:
    op.create_table(
        "mentors",
        sa.Column("id", GUID, nullable=False),
        sa.Column("user_id", GUID, nullable=False),
        sa.Column("company", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=255), nullable=False),
        sa.Column("institute", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=255), nullable=False),
        sa.Column("sub_category", sa.String(length=255), nullable=False),
        sa.Column("expertise", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("experience_years", sa.Integer(), nullable=False),
        sa.Column("image", sa.String(length=2048), nullable=True),
        sa.Column("is_listed", sa.Boolean(), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint(
            "experience_years >= 0", name=op.f("ck_mentors_experience_years_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_mentors_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mentors")),
        sa.UniqueConstraint("user_id", name=op.f("uq_mentors_user_id")),
    )
    with op.batch_alter_table("mentors", schema=None) as batch_op:
        batch_op.create_index(
            "ix_mentors_experience",
            [sa.literal_column("experience_years DESC"), "user_id"],
            unique=False,
        )
        batch_op.create_index("ix_mentors_facet", ["category", "sub_category"], unique=False)
    op.create_table(
        "mentor_stats",
        sa.Column("mentor_id", GUID, nullable=False),
        sa.Column("completed_meets", sa.Integer(), nullable=False),
        sa.Column("rating_sum", sa.Double(), nullable=False),
        sa.Column("rating_count", sa.Integer(), nullable=False),
        sa.Column("avg_rating", sa.Double(), nullable=True),
        sa.Column("rating_order", sa.Double(), nullable=False),
        sa.Column("open_future_slots", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint(
            "completed_meets >= 0", name=op.f("ck_mentor_stats_completed_meets_not_negative")
        ),
        sa.CheckConstraint(
            "open_future_slots >= 0", name=op.f("ck_mentor_stats_open_future_slots_not_negative")
        ),
        sa.CheckConstraint(
            "rating_count >= 0", name=op.f("ck_mentor_stats_rating_count_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["mentor_id"],
            ["users.id"],
            name=op.f("fk_mentor_stats_mentor_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("mentor_id", name=op.f("pk_mentor_stats")),
    )
    with op.batch_alter_table("mentor_stats", schema=None) as batch_op:
        batch_op.create_index(
            "ix_mentor_stats_meets",
            [
                sa.literal_column("completed_meets DESC"),
                sa.literal_column("rating_order DESC"),
                "mentor_id",
            ],
            unique=False,
        )
        batch_op.create_index(
            "ix_mentor_stats_rating",
            [sa.literal_column("rating_order DESC"), "mentor_id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_mentor_stats_slots",
            [sa.literal_column("open_future_slots DESC"), "mentor_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("mentor_stats", schema=None) as batch_op:
        batch_op.drop_index("ix_mentor_stats_slots")
        batch_op.drop_index("ix_mentor_stats_rating")
        batch_op.drop_index("ix_mentor_stats_meets")
    op.drop_table("mentor_stats")
    with op.batch_alter_table("mentors", schema=None) as batch_op:
        batch_op.drop_index("ix_mentors_facet")
        batch_op.drop_index("ix_mentors_experience")
    op.drop_table("mentors")
