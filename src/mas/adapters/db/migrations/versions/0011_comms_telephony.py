"""comms telephony (lead call and SMS logs)

Revision ID: 0011_comms_telephony
Revises: 0010_comms_whatsapp
Create Date: 2026-12-04 22:40:00
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0011_comms_telephony"
down_revision: str | None = "0010_comms_whatsapp"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lead_call_logs",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("raw_lead_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("user_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("provider_call_id", sa.String(length=128), nullable=True),
        sa.Column("agent_number", sa.String(length=20), nullable=True),
        sa.Column("lead_number", sa.String(length=20), nullable=True),
        sa.Column("caller_id", sa.String(length=20), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("duration_s", sa.Integer(), nullable=True),
        sa.Column("recording_url", sa.String(length=1000), nullable=True),
        sa.Column("outcome", sa.String(length=40), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("raw_callback", advanced_alchemy.types.JsonB, nullable=True),
        sa.Column(
            "started_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True
        ),
        sa.Column(
            "ended_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True
        ),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["raw_lead_id"],
            ["raw_leads.id"],
            name=op.f("fk_lead_call_logs_raw_lead_id_raw_leads"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_lead_call_logs_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_call_logs")),
    )
    with op.batch_alter_table("lead_call_logs", schema=None) as batch_op:
        batch_op.create_index(
            "uq_lead_call_logs_provider_call_id", ["provider_call_id"], unique=True
        )
        batch_op.create_index(
            "ix_lead_call_logs_lead", ["raw_lead_id", "created_at", "id"], unique=False
        )
        batch_op.create_index("ix_lead_call_logs_agent", ["user_id", "created_at"], unique=False)
        batch_op.create_index("ix_lead_call_logs_status", ["status", "created_at"], unique=False)

    op.create_table(
        "lead_sms_logs",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("raw_lead_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("user_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("to_number", sa.String(length=20), nullable=False),
        sa.Column("body", sa.String(length=1000), nullable=False),
        sa.Column("provider_sid", sa.String(length=128), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "status_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["raw_lead_id"],
            ["raw_leads.id"],
            name=op.f("fk_lead_sms_logs_raw_lead_id_raw_leads"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_lead_sms_logs_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_sms_logs")),
    )
    with op.batch_alter_table("lead_sms_logs", schema=None) as batch_op:
        batch_op.create_index("uq_lead_sms_logs_provider_sid", ["provider_sid"], unique=True)
        batch_op.create_index("ix_lead_sms_logs_lead", ["raw_lead_id", "created_at"], unique=False)
        batch_op.create_index("ix_lead_sms_logs_status", ["status", "created_at"], unique=False)


def downgrade() -> None:
    op.drop_table("lead_sms_logs")
    op.drop_table("lead_call_logs")
