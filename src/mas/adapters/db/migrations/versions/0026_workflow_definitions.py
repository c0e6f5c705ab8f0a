"""workflow definitions (workflows, published versions)

Revision ID: 0026_workflow_definitions
Revises: 0025_finance_sales
Create Date: 2026-12-05 22:10:00
"""

from collections.abc import Sequence

revision: str = "0026_workflow_definitions"
down_revision: str | None = "0025_finance_sales"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass  # TODO(helper)


def downgrade() -> None:
    pass  # TODO(helper)
