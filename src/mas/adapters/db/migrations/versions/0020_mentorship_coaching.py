"""mentorship coaching (super-mentor assignments, booking idempotency)

Revision ID: 0020_mentorship_coaching
Revises: 0019_mentorship_calendar
Create Date: 2026-12-04 23:20:00
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0020_mentorship_coaching"
down_revision: str | None = "0019_mentorship_calendar"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


GUID = advanced_alchemy.types.guid.GUID(length=16)
TS = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)


def _audit() -> list[sa.Column[object]]:
    return [
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "super_mentor_students",
        sa.Column("id", GUID, nullable=False),
        sa.Column("super_mentor_id", GUID, nullable=False),
        sa.Column("student_id", GUID, nullable=False),
        sa.Column("assigned_by", GUID, nullable=True),
        sa.Column("assigned_at", TS, nullable=False),
        *_audit(),
        sa.ForeignKeyConstraint(
            ["super_mentor_id"],
            ["users.id"],
            name=op.f("fk_super_mentor_students_super_mentor_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["users.id"],
            name=op.f("fk_super_mentor_students_student_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["assigned_by"],
            ["users.id"],
            name=op.f("fk_super_mentor_students_assigned_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_super_mentor_students")),
    )
    with op.batch_alter_table("super_mentor_students", schema=None) as batch_op:
        batch_op.create_index(
            "uq_super_mentor_students_pair", ["super_mentor_id", "student_id"], unique=True
        )
        batch_op.create_index("ix_super_mentor_students_student", ["student_id"], unique=False)

    op.create_table(
        "slot_booking_keys",
        sa.Column("id", GUID, nullable=False),
        sa.Column("student_id", GUID, nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("slot_id", GUID, nullable=True),
        sa.Column("expires_at", TS, nullable=False),
        *_audit(),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["users.id"],
            name=op.f("fk_slot_booking_keys_student_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["slot_id"],
            ["slots.id"],
            name=op.f("fk_slot_booking_keys_slot_id_slots"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slot_booking_keys")),
    )
    with op.batch_alter_table("slot_booking_keys", schema=None) as batch_op:
        batch_op.create_index(
            "uq_slot_booking_keys_student_key", ["student_id", "key"], unique=True
        )
        batch_op.create_index("ix_slot_booking_keys_expires", ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("slot_booking_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_slot_booking_keys_expires")
        batch_op.drop_index("uq_slot_booking_keys_student_key")
    op.drop_table("slot_booking_keys")
    with op.batch_alter_table("super_mentor_students", schema=None) as batch_op:
        batch_op.drop_index("ix_super_mentor_students_student")
        batch_op.drop_index("uq_super_mentor_students_pair")
    op.drop_table("super_mentor_students")
