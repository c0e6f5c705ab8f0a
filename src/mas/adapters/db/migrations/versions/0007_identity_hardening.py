"""identity hardening: refresh-token reuse interval, per-account sign-in throttling

``account_throttles`` counts consecutive failed sign-ins per account (keyed by a digest of the
normalised email, whether or not an account exists), so every process applies the same growing
wait. The refresh-token reuse interval needs no column: a rotated row already records when it
was rotated (``revoked_at``) and by what (``replaced_by_id``), and the successor token is derived
from the presented one rather than stored.

Revision ID: 0007_identity_hardening
Revises: 0006_shared_cache
Create Date: 2026-12-04 19:40:00
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0007_identity_hardening"
down_revision: str | None = "0006_shared_cache"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "account_throttles",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column(
            "last_attempt_at",
            advanced_alchemy.types.datetime.DateTimeUTC(timezone=True),
            nullable=False,
        ),
        sa.Column(
            "blocked_until",
            advanced_alchemy.types.datetime.DateTimeUTC(timezone=True),
            nullable=True,
        ),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_throttles")),
        sa.UniqueConstraint("subject", name=op.f("uq_account_throttles_subject")),
    )


def downgrade() -> None:
    op.drop_table("account_throttles")
