"""finance payments

Revision ID: 0022_finance_payments
Revises: 0021_finance_audit
Create Date: 2026-12-04 23:20:00
"""

from collections.abc import Sequence

import advanced_alchemy.types  # noqa: F401
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "0022_finance_payments"
down_revision: str | None = "0021_finance_audit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
