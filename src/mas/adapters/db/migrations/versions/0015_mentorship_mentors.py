"""mentorship mentors (profiles, discovery statistics)

Revision ID: 0015_mentorship_mentors
Revises: 0014_tokens_earnings
Create Date: 2026-12-04 23:20:00
"""

from collections.abc import Sequence

import advanced_alchemy.types  # noqa: F401
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "0015_mentorship_mentors"
down_revision: str | None = "0014_tokens_earnings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
