"""comms mail (email templates, the send log's idempotency keys and relations)

Revision ID: 0008_comms_mail
Revises: 0007_identity_hardening
Create Date: 2026-12-04 22:40:00
"""

from collections.abc import Sequence

import advanced_alchemy.types  # noqa: F401
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "0008_comms_mail"
down_revision: str | None = "0007_identity_hardening"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
