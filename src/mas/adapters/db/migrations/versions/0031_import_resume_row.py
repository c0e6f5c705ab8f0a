"""import resume row (where a run resumes: every row before it is written)

Revision ID: 0031_import_resume_row
Revises: 0030_lease_watermark
Create Date: 2026-12-06 04:40:00

Before this, a run resumed after ``created + merged + rejected`` rows, which was right while one
transaction wrote one chunk after the other. Parts of a window are now written by several
transactions at once, so the counters can include a part of an unfinished window: the resume
point is kept apart. A batch caught mid-run keeps its old resume point.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0031_import_resume_row"
down_revision: str | None = "0030_lease_watermark"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("lead_import_batches", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("resume_row", sa.Integer(), server_default="0", nullable=False)
        )
    op.execute(
        "UPDATE lead_import_batches SET resume_row = created_count + merged_count + rejected_count"
    )


def downgrade() -> None:
    with op.batch_alter_table("lead_import_batches", schema=None) as batch_op:
        batch_op.drop_column("resume_row")
