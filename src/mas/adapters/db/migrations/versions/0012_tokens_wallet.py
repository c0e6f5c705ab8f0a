"""tokens wallet (wallets, the token ledger, promotional grants, allotment requests)

Revision ID: 0012_tokens_wallet
Revises: 0011_comms_telephony
Create Date: 2026-12-04 23:10:00
"""

from collections.abc import Sequence

import advanced_alchemy.types  # noqa: F401
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "0012_tokens_wallet"
down_revision: str | None = "0011_comms_telephony"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
