"""workflow runs (enrollments, node runs)

Revision ID: 0027_workflow_runs
Revises: 0026_workflow_definitions
Create Date: 2026-12-05 22:10:00
"""

from collections.abc import Sequence

revision: str = "0027_workflow_runs"
down_revision: str | None = "0026_workflow_definitions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass  # TODO(helper)


def downgrade() -> None:
    pass  # TODO(helper)
