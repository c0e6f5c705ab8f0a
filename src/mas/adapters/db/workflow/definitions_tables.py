"""The definitions part's tables: workflows (their draft and settings) and the versions they
published (frozen graphs that enrollments pin).

``uq_workflows_name`` keeps a name unique among the workflows that are not archived (an archived
one frees its name). ``next_scan_at`` is ``last_scan_at`` + the scan interval, kept by the
repository, so the scheduler's "which scans are due" is one indexed range read instead of date
arithmetic on JSON.
"""

from __future__ import annotations

from advanced_alchemy.types import GUID, DateTimeUTC, JsonB
from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    text,
)

from mas.adapters.db.base import metadata

TS = DateTimeUTC(timezone=True)
NOT_ARCHIVED = "status <> 'ARCHIVED'"

workflows = Table(
    "workflows",
    metadata,
    Column("id", GUID, primary_key=True),
    Column("name", String(150), nullable=False),
    Column("description", String(1000), nullable=True),
    Column("status", String(16), nullable=False),
    Column("trigger_type", String(16), nullable=False),
    Column("trigger_config", JsonB, nullable=False),
    Column("draft_graph", JsonB, nullable=False),
    Column("published_version", Integer, nullable=True),
    Column("reenroll_policy", String(16), nullable=False),
    Column("exit_on_statuses", JsonB, nullable=False),
    Column("send_window", JsonB, nullable=False),
    Column("last_scan_at", TS, nullable=True),
    Column("next_scan_at", TS, nullable=True),
    Column("created_by", GUID, nullable=True),
    Column("updated_by", GUID, nullable=True),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("archived_at", TS, nullable=True),
    Index(
        "uq_workflows_name",
        "name",
        unique=True,
        sqlite_where=text(NOT_ARCHIVED),
        postgresql_where=text(NOT_ARCHIVED),
    ),
    Index("ix_workflows_status", "status", "created_at"),
    Index("ix_workflows_scan", "status", "trigger_type", "next_scan_at"),
)

workflow_versions = Table(
    "workflow_versions",
    metadata,
    Column("workflow_id", GUID, ForeignKey("workflows.id", ondelete="CASCADE"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("graph", JsonB, nullable=False),
    Column("published_by", GUID, nullable=True),
    Column("published_at", TS, nullable=False),
    Column("checksum", String(64), nullable=False),
    PrimaryKeyConstraint("workflow_id", "version", name="pk_workflow_versions"),
)
