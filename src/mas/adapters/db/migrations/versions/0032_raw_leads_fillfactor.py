"""raw_leads fillfactor 90 (PostgreSQL): room on each page for updates that touch no index

Revision ID: 0032_raw_leads_fillfactor
Revises: 0031_import_resume_row
Create Date: 2026-12-06 04:20:00

A re-inquiry merges into a lead by filling its empty fields and counting the re-inquiry; none
of those columns is indexed, so with room on the page the new row version stays there (a HOT
update) instead of adding an entry to each of the table's twelve indexes. Pages written before
keep their fill until they are rewritten.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0032_raw_leads_fillfactor"
down_revision: str | None = "0031_import_resume_row"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE raw_leads SET (fillfactor = 90)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE raw_leads RESET (fillfactor)")
