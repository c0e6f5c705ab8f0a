"""identity hardening: refresh-token reuse interval, per-account sign-in throttling

Revision ID: 0007_identity_hardening
Revises: 0006_shared_cache
Create Date: 2026-12-04 19:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_identity_hardening"
down_revision: str | None = "0006_shared_cache"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
