"""comms telephony (lead call and SMS logs)

Revision ID: 0011_comms_telephony
Revises: 0010_comms_whatsapp
Create Date: 2026-12-04 22:40:00
"""

from collections.abc import Sequence

import advanced_alchemy.types  # noqa: F401
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "0011_comms_telephony"
down_revision: str | None = "0010_comms_whatsapp"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
