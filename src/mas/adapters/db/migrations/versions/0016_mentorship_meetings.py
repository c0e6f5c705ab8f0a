"""mentorship meetings (slots, feedback, availability requests)

Revision ID: 0016_mentorship_meetings
Revises: 0015_mentorship_mentors
Create Date: 2026-12-04 23:20:00
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0016_mentorship_meetings"
down_revision: str | None = "0015_mentorship_mentors"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = "status IN ('open', 'tentative', 'confirmed', 'cancellation_requested')"


def upgrade() -> None:
    op.create_table(
        "slots",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("mentor_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("student_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column(
            "start_date_time",
            advanced_alchemy.types.datetime.DateTimeUTC(timezone=True),
            nullable=False,
        ),
        sa.Column(
            "end_date_time",
            advanced_alchemy.types.datetime.DateTimeUTC(timezone=True),
            nullable=False,
        ),
        sa.Column("is_available", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("meeting_type", sa.String(length=16), nullable=False),
        sa.Column("agenda", sa.String(length=24), nullable=True),
        sa.Column("booking_note", sa.String(length=1000), nullable=True),
        sa.Column(
            "requested_at",
            advanced_alchemy.types.datetime.DateTimeUTC(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "decided_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True
        ),
        sa.Column("cancelled_by", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("cancel_reason", sa.String(length=500), nullable=True),
        sa.Column("expiry_reason", sa.String(length=24), nullable=True),
        sa.Column(
            "actual_start_time",
            advanced_alchemy.types.datetime.DateTimeUTC(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "actual_end_time",
            advanced_alchemy.types.datetime.DateTimeUTC(timezone=True),
            nullable=True,
        ),
        sa.Column("duration_minutes", sa.Integer(), nullable=True),
        sa.Column("earnings_credited", sa.Boolean(), nullable=False),
        sa.Column(
            "earnings_credited_at",
            advanced_alchemy.types.datetime.DateTimeUTC(timezone=True),
            nullable=True,
        ),
        sa.Column("room_id", sa.String(length=64), nullable=False),
        sa.Column("calendar_event_id", sa.String(length=255), nullable=True),
        sa.Column("email_action_nonce", sa.String(length=32), nullable=True),
        sa.Column(
            "reminder_24h_sent_at",
            advanced_alchemy.types.datetime.DateTimeUTC(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "reminder_15m_sent_at",
            advanced_alchemy.types.datetime.DateTimeUTC(timezone=True),
            nullable=True,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["cancelled_by"],
            ["users.id"],
            name=op.f("fk_slots_cancelled_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["mentor_id"], ["users.id"], name=op.f("fk_slots_mentor_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["users.id"],
            name=op.f("fk_slots_student_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slots")),
    )
    with op.batch_alter_table("slots", schema=None) as batch_op:
        batch_op.create_index(
            "ix_slots_mentor_start", ["mentor_id", "start_date_time"], unique=False
        )
        batch_op.create_index("ix_slots_status_start", ["status", "start_date_time"], unique=False)
        batch_op.create_index(
            "ix_slots_student_start", ["student_id", "start_date_time"], unique=False
        )
        batch_op.create_index(
            "uq_slots_mentor_start_live",
            ["mentor_id", "start_date_time"],
            unique=True,
            sqlite_where=sa.text(LIVE),
            postgresql_where=sa.text(LIVE),
        )

    op.create_table(
        "slots_feedback",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("slot_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("author_role", sa.String(length=8), nullable=False),
        sa.Column("rating", sa.Float(), nullable=False),
        sa.Column("experience", sa.String(length=16), nullable=False),
        sa.Column("is_mentor_joined_on_time", sa.Boolean(), nullable=True),
        sa.Column("comments", sa.Text(), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["slot_id"],
            ["slots.id"],
            name=op.f("fk_slots_feedback_slot_id_slots"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slots_feedback")),
    )
    with op.batch_alter_table("slots_feedback", schema=None) as batch_op:
        batch_op.create_index(
            "uq_slots_feedback_slot_author", ["slot_id", "author_role"], unique=True
        )

    op.create_table(
        "availability_requests",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("student_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("mentor_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("preferred_date", sa.Date(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "resolved_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True
        ),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["mentor_id"],
            ["users.id"],
            name=op.f("fk_availability_requests_mentor_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["users.id"],
            name=op.f("fk_availability_requests_student_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_availability_requests")),
    )
    with op.batch_alter_table("availability_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_availability_requests_mentor_status", ["mentor_id", "status"], unique=False
        )
        batch_op.create_index(
            "ix_availability_requests_status_created", ["status", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_availability_requests_student_status", ["student_id", "status"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("availability_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_availability_requests_student_status")
        batch_op.drop_index("ix_availability_requests_status_created")
        batch_op.drop_index("ix_availability_requests_mentor_status")
    op.drop_table("availability_requests")
    with op.batch_alter_table("slots_feedback", schema=None) as batch_op:
        batch_op.drop_index("uq_slots_feedback_slot_author")
    op.drop_table("slots_feedback")
    with op.batch_alter_table("slots", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_slots_mentor_start_live", sqlite_where=sa.text(LIVE), postgresql_where=sa.text(LIVE)
        )
        batch_op.drop_index("ix_slots_student_start")
        batch_op.drop_index("ix_slots_status_start")
        batch_op.drop_index("ix_slots_mentor_start")
    op.drop_table("slots")
