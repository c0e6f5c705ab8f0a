"""workflow hire (Mr. Hire workflow rules)

Revision ID: 0028_workflow_hire
Revises: 0027_workflow_runs
Create Date: 2026-12-05 22:10:00
"""

from collections.abc import Sequence

revision: str = "0028_workflow_hire"
down_revision: str | None = "0027_workflow_runs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass  # TODO(helper)


def downgrade() -> None:
    pass  # TODO(helper)
