"""the shared cache table (several processes on the embedded default)

Revision ID: 0006_shared_cache
Revises: 0005_lead_list_indexes
Create Date: 2026-12-04 19:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_shared_cache"
down_revision: str | None = "0005_lead_list_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
