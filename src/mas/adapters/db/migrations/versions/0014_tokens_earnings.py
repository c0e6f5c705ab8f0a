"""tokens earnings (mentor earnings, the journal of earnings and withdrawals)

Revision ID: 0014_tokens_earnings
Revises: 0013_tokens_purchases
Create Date: 2026-12-04 23:10:00
"""

from collections.abc import Sequence

import advanced_alchemy.types  # noqa: F401
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "0014_tokens_earnings"
down_revision: str | None = "0013_tokens_purchases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
