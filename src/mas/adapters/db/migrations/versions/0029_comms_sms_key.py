"""comms sms key (the messenger's SMS: idempotency key, related record, lead optional)

Revision ID: 0029_comms_sms_key
Revises: 0028_workflow_hire
Create Date: 2026-12-05 22:20:00
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0029_comms_sms_key"
down_revision: str | None = "0028_workflow_hire"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GUID = advanced_alchemy.types.guid.GUID(length=16)


def upgrade() -> None:
    with op.batch_alter_table("lead_sms_logs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("related_type", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("related_id", GUID, nullable=True))
        batch_op.alter_column("raw_lead_id", existing_type=GUID, nullable=True)
        batch_op.create_index("uq_lead_sms_logs_idempotency_key", ["idempotency_key"], unique=True)


def downgrade() -> None:
    # Messenger SMS without a lead cannot keep a NOT NULL lead column: they go first.
    op.execute("DELETE FROM lead_sms_logs WHERE raw_lead_id IS NULL")
    with op.batch_alter_table("lead_sms_logs", schema=None) as batch_op:
        batch_op.drop_index("uq_lead_sms_logs_idempotency_key")
        batch_op.alter_column("raw_lead_id", existing_type=GUID, nullable=False)
        batch_op.drop_column("related_id")
        batch_op.drop_column("related_type")
        batch_op.drop_column("idempotency_key")
