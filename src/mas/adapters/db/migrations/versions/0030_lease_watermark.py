"""lease watermark (the scheduler's last fired tick, kept across leaders)

Revision ID: 0030_lease_watermark
Revises: 0029_comms_sms_key
Create Date: 2026-12-06 01:30:00
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0030_lease_watermark"
down_revision: str | None = "0029_comms_sms_key"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("leases", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("watermark", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("leases", schema=None) as batch_op:
        batch_op.drop_column("watermark")
