"""finance reports

Revision ID: 0024_finance_reports
Revises: 0023_finance_invoicing
Create Date: 2026-12-04 23:20:00
"""

from collections.abc import Sequence

import advanced_alchemy.types  # noqa: F401
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "0024_finance_reports"
down_revision: str | None = "0023_finance_invoicing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
