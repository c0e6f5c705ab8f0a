"""comms whatsapp (senders, templates, messages, reminders, provider credentials)

Revision ID: 0010_comms_whatsapp
Revises: 0009_comms_notifications
Create Date: 2026-12-04 22:40:00
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0010_comms_whatsapp"
down_revision: str | None = "0009_comms_notifications"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "provider_credentials",
        sa.Column("id", advanced_alchemy.types.GUID(length=16), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.Column("updated_by", advanced_alchemy.types.GUID(length=16), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_credentials")),
        sa.UniqueConstraint("provider", "name", name="uq_provider_credentials_name"),
    )
    op.create_table(
        "scheduled_whatsapp_reminders",
        sa.Column("id", advanced_alchemy.types.GUID(length=16), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("ref_id", advanced_alchemy.types.GUID(length=16), nullable=False),
        sa.Column("send_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("message_spec", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("message_id", advanced_alchemy.types.GUID(length=16), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduled_whatsapp_reminders")),
        sa.UniqueConstraint("kind", "ref_id", "send_at", name="uq_scheduled_whatsapp_reminders"),
    )
    with op.batch_alter_table("scheduled_whatsapp_reminders", schema=None) as batch_op:
        batch_op.create_index(
            "ix_scheduled_whatsapp_reminders_ref", ["kind", "ref_id", "status"], unique=False
        )

    op.create_table(
        "whatsapp_templates",
        sa.Column("id", advanced_alchemy.types.GUID(length=16), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("language", sa.String(length=15), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=True),
        sa.Column("header", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("footer", sa.Text(), nullable=True),
        sa.Column("buttons", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("param_count", sa.Integer(), nullable=False),
        sa.Column("provider_status", sa.String(length=16), nullable=False),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.Column("synced_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_whatsapp_templates")),
        sa.UniqueConstraint("provider", "name", "language", name="uq_whatsapp_templates_name"),
    )
    op.create_table(
        "whatsapp_webhook_events",
        sa.Column("id", advanced_alchemy.types.GUID(length=16), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("received_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_whatsapp_webhook_events")),
    )
    with op.batch_alter_table("whatsapp_webhook_events", schema=None) as batch_op:
        batch_op.create_index("ix_whatsapp_webhook_events_received", ["received_at"], unique=False)

    op.create_table(
        "whatsapp_sender_configs",
        sa.Column("id", advanced_alchemy.types.GUID(length=16), nullable=False),
        sa.Column("owner_user_id", advanced_alchemy.types.GUID(length=16), nullable=True),
        sa.Column("phone_e164", sa.String(length=16), nullable=False),
        sa.Column("display_name", sa.String(length=120), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_user_id"],
            ["users.id"],
            name=op.f("fk_whatsapp_sender_configs_owner_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_whatsapp_sender_configs")),
    )
    with op.batch_alter_table("whatsapp_sender_configs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_whatsapp_sender_configs_status", ["status", "created_at"], unique=False
        )
        batch_op.create_index(
            "uq_whatsapp_sender_configs_owner",
            ["owner_user_id"],
            unique=True,
            sqlite_where=sa.text("owner_user_id IS NOT NULL"),
            postgresql_where=sa.text("owner_user_id IS NOT NULL"),
        )

    op.create_table(
        "whatsapp_messages",
        sa.Column("id", advanced_alchemy.types.GUID(length=16), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("audience", sa.String(length=12), nullable=False),
        sa.Column("raw_lead_id", advanced_alchemy.types.GUID(length=16), nullable=True),
        sa.Column("candidate_id", advanced_alchemy.types.GUID(length=16), nullable=True),
        sa.Column("user_id", advanced_alchemy.types.GUID(length=16), nullable=True),
        sa.Column("sender_config_id", advanced_alchemy.types.GUID(length=16), nullable=True),
        sa.Column("peer_phone_e164", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("template_name", sa.String(length=512), nullable=True),
        sa.Column("template_language", sa.String(length=15), nullable=True),
        sa.Column("params", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("media_key", sa.String(length=300), nullable=True),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("provider_message_id", sa.String(length=256), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("error_code", sa.String(length=80), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("request_payload", sa.Text(), nullable=True),
        sa.Column("retry_of_id", advanced_alchemy.types.GUID(length=16), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("sent_by", advanced_alchemy.types.GUID(length=16), nullable=True),
        sa.Column("status_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("send_after", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["retry_of_id"],
            ["whatsapp_messages.id"],
            name=op.f("fk_whatsapp_messages_retry_of_id_whatsapp_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["sender_config_id"],
            ["whatsapp_sender_configs.id"],
            name=op.f("fk_whatsapp_messages_sender_config_id_whatsapp_sender_configs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_whatsapp_messages")),
    )
    with op.batch_alter_table("whatsapp_messages", schema=None) as batch_op:
        batch_op.create_index("ix_whatsapp_messages_created", ["created_at", "id"], unique=False)
        batch_op.create_index(
            "ix_whatsapp_messages_lead",
            ["raw_lead_id", "created_at"],
            unique=False,
            sqlite_where=sa.text("raw_lead_id IS NOT NULL"),
            postgresql_where=sa.text("raw_lead_id IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_whatsapp_messages_peer",
            ["peer_phone_e164", "direction", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_whatsapp_messages_retry_of",
            ["retry_of_id"],
            unique=False,
            sqlite_where=sa.text("retry_of_id IS NOT NULL"),
            postgresql_where=sa.text("retry_of_id IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_whatsapp_messages_sender",
            ["sender_config_id", "created_at"],
            unique=False,
            sqlite_where=sa.text("sender_config_id IS NOT NULL"),
            postgresql_where=sa.text("sender_config_id IS NOT NULL"),
        )
        batch_op.create_index("ix_whatsapp_messages_status", ["status", "created_at"], unique=False)
        batch_op.create_index(
            "uq_whatsapp_messages_key",
            ["idempotency_key"],
            unique=True,
            sqlite_where=sa.text("idempotency_key IS NOT NULL"),
            postgresql_where=sa.text("idempotency_key IS NOT NULL"),
        )
        batch_op.create_index(
            "uq_whatsapp_messages_provider_id",
            ["provider_message_id", "provider"],
            unique=True,
            sqlite_where=sa.text("provider_message_id IS NOT NULL"),
            postgresql_where=sa.text("provider_message_id IS NOT NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("whatsapp_messages", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_whatsapp_messages_provider_id",
            sqlite_where=sa.text("provider_message_id IS NOT NULL"),
            postgresql_where=sa.text("provider_message_id IS NOT NULL"),
        )
        batch_op.drop_index(
            "uq_whatsapp_messages_key",
            sqlite_where=sa.text("idempotency_key IS NOT NULL"),
            postgresql_where=sa.text("idempotency_key IS NOT NULL"),
        )
        batch_op.drop_index("ix_whatsapp_messages_status")
        batch_op.drop_index(
            "ix_whatsapp_messages_sender",
            sqlite_where=sa.text("sender_config_id IS NOT NULL"),
            postgresql_where=sa.text("sender_config_id IS NOT NULL"),
        )
        batch_op.drop_index(
            "ix_whatsapp_messages_retry_of",
            sqlite_where=sa.text("retry_of_id IS NOT NULL"),
            postgresql_where=sa.text("retry_of_id IS NOT NULL"),
        )
        batch_op.drop_index("ix_whatsapp_messages_peer")
        batch_op.drop_index(
            "ix_whatsapp_messages_lead",
            sqlite_where=sa.text("raw_lead_id IS NOT NULL"),
            postgresql_where=sa.text("raw_lead_id IS NOT NULL"),
        )
        batch_op.drop_index("ix_whatsapp_messages_created")

    op.drop_table("whatsapp_messages")
    with op.batch_alter_table("whatsapp_sender_configs", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_whatsapp_sender_configs_owner",
            sqlite_where=sa.text("owner_user_id IS NOT NULL"),
            postgresql_where=sa.text("owner_user_id IS NOT NULL"),
        )
        batch_op.drop_index("ix_whatsapp_sender_configs_status")

    op.drop_table("whatsapp_sender_configs")
    with op.batch_alter_table("whatsapp_webhook_events", schema=None) as batch_op:
        batch_op.drop_index("ix_whatsapp_webhook_events_received")

    op.drop_table("whatsapp_webhook_events")
    op.drop_table("whatsapp_templates")
    with op.batch_alter_table("scheduled_whatsapp_reminders", schema=None) as batch_op:
        batch_op.drop_index("ix_scheduled_whatsapp_reminders_ref")

    op.drop_table("scheduled_whatsapp_reminders")
    op.drop_table("provider_credentials")
