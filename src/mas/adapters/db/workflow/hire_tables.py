"""The hire part's table: Mr. Hire's workflow rules (workflow.md §3 ``workflow_rules``).

``conditions`` and ``actions`` are JSON written from the validated Structs
(``mas.core.workflow.hire.model``); a rule is soft-deleted (``deleted_at``). Reads go by owner
(``ix_workflow_rules_owner``); the Mr. Hire domain that runs the rules will read them by event
(``ix_workflow_rules_event``, live and active only).
"""

from __future__ import annotations

from advanced_alchemy.types import GUID, DateTimeUTC, JsonB
from sqlalchemy import Boolean, Column, ForeignKey, Index, String, Table, text

from mas.adapters.db.base import metadata

TS = DateTimeUTC(timezone=True)
RUNNABLE = "deleted_at IS NULL AND is_active"

workflow_rules = Table(
    "workflow_rules",
    metadata,
    Column("id", GUID, primary_key=True),
    Column("owner_id", GUID, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(150), nullable=False),
    Column("event", String(32), nullable=False),
    Column("conditions", JsonB, nullable=False),
    Column("actions", JsonB, nullable=False),
    Column("is_active", Boolean, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("deleted_at", TS, nullable=True),
    Index("ix_workflow_rules_owner", "owner_id", "created_at", "id"),
    Index(
        "ix_workflow_rules_event",
        "event",
        sqlite_where=text(RUNNABLE),
        postgresql_where=text(RUNNABLE),
    ),
)
