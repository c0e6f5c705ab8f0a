"""comms mail (email templates, the send log's idempotency keys and relations)

The send log is the platform outbox: ``outbox_messages`` gains the sender's idempotency key
(unique; NULLs never collide, so older rows and keyless messages are unaffected), the related
record and the person who sent it, with an index for each filter of the send log.

Revision ID: 0008_comms_mail
Revises: 0007_identity_hardening
Create Date: 2026-12-04 22:40:00
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0008_comms_mail"
down_revision: str | None = "0007_identity_hardening"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("related_type", sa.String(length=40), nullable=True))
        batch_op.add_column(
            sa.Column("related_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True)
        )
        batch_op.add_column(
            sa.Column("sent_by", advanced_alchemy.types.guid.GUID(length=16), nullable=True)
        )
        batch_op.create_index(
            "uq_outbox_messages_idempotency_key", ["idempotency_key"], unique=True
        )
        batch_op.create_index(
            "ix_outbox_messages_related", ["related_type", "related_id", "created_at"], unique=False
        )
        batch_op.create_index("ix_outbox_messages_sent_by", ["sent_by", "created_at"], unique=False)

    op.create_table(
        "email_templates",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=150), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=True),
        sa.Column("variables", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("owner_scope", sa.String(length=8), nullable=False),
        sa.Column("sales_head_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_by", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("updated_by", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("deleted_at", TS, nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_templates")),
    )
    with op.batch_alter_table("email_templates", schema=None) as batch_op:
        batch_op.create_index(
            "uq_email_templates_key",
            ["key"],
            unique=True,
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )
        batch_op.create_index(
            "ix_email_templates_pool", ["owner_scope", "sales_head_id", "key"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("email_templates", schema=None) as batch_op:
        batch_op.drop_index("ix_email_templates_pool")
        batch_op.drop_index("uq_email_templates_key")
    op.drop_table("email_templates")

    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_messages_sent_by")
        batch_op.drop_index("ix_outbox_messages_related")
        batch_op.drop_index("uq_outbox_messages_idempotency_key")
        batch_op.drop_column("sent_by")
        batch_op.drop_column("related_id")
        batch_op.drop_column("related_type")
        batch_op.drop_column("idempotency_key")
