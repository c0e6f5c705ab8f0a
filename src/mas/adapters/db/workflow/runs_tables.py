"""The runs part's tables: enrollments (one lead's way through one pinned version), their node
runs (one row per node attempt, never updated by a retry), and the CRM events already handled.

``workflow_enrollments`` is the engine's own ledger: a step job carries ``(id, current_node_id,
lock_version)`` and is a no-op unless all three still match, and a waiting enrollment's
``next_run_at`` (index ``ix_workflow_enrollments_due``) is the durable timer the release loop
reads. ``uq_workflow_enrollments_live`` keeps a lead in a workflow at most once while live.
"""

from __future__ import annotations

from advanced_alchemy.types import GUID, DateTimeUTC, JsonB
from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, UniqueConstraint, text

from mas.adapters.db.base import metadata

TS = DateTimeUTC(timezone=True)
LIVE = "status IN ('ACTIVE', 'WAITING', 'FAILED')"
DUE = "status IN ('ACTIVE', 'WAITING')"
CALLS = "call_id IS NOT NULL"

workflow_enrollments = Table(
    "workflow_enrollments",
    metadata,
    Column("id", GUID, primary_key=True),
    Column("workflow_id", GUID, ForeignKey("workflows.id", ondelete="CASCADE"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("raw_lead_id", GUID, ForeignKey("raw_leads.id", ondelete="CASCADE"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("current_node_id", String(64), nullable=False),
    Column("attempt", Integer, nullable=False, server_default="1"),
    Column("next_run_at", TS, nullable=True),
    # Why a WAITING enrollment waits: timer, window, call, retry, paused (None while ACTIVE).
    Column("waiting_for", String(16), nullable=True),
    Column("call_id", String(100), nullable=True),
    Column("enrolled_via", String(8), nullable=False),
    Column("enrolled_by", GUID, nullable=True),
    Column("context", JsonB, nullable=False),
    Column("exit_reason", String(200), nullable=True),
    Column("last_error", String(2000), nullable=True),
    Column("started_at", TS, nullable=False),
    Column("finished_at", TS, nullable=True),
    Column("updated_at", TS, nullable=False),
    Column("lock_version", Integer, nullable=False, server_default="0"),
    Index(
        "uq_workflow_enrollments_live",
        "workflow_id",
        "raw_lead_id",
        unique=True,
        sqlite_where=text(LIVE),
        postgresql_where=text(LIVE),
    ),
    Index(
        "ix_workflow_enrollments_due",
        "status",
        "next_run_at",
        sqlite_where=text(DUE),
        postgresql_where=text(DUE),
    ),
    Index("ix_workflow_enrollments_workflow", "workflow_id", "status"),
    Index("ix_workflow_enrollments_lead", "raw_lead_id", "status"),
    Index(
        "ix_workflow_enrollments_call",
        "call_id",
        sqlite_where=text(CALLS),
        postgresql_where=text(CALLS),
    ),
)

workflow_node_runs = Table(
    "workflow_node_runs",
    metadata,
    Column("id", GUID, primary_key=True),
    Column(
        "enrollment_id",
        GUID,
        ForeignKey("workflow_enrollments.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("node_id", String(64), nullable=False),
    Column("node_type", String(32), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("input", JsonB, nullable=True),
    Column("output", JsonB, nullable=True),
    Column("error", String(2000), nullable=True),
    Column("started_at", TS, nullable=False),
    Column("finished_at", TS, nullable=True),
    UniqueConstraint("enrollment_id", "node_id", "attempt"),
    Index("ix_workflow_node_runs_enrollment", "enrollment_id", "started_at"),
)

workflow_processed_events = Table(
    "workflow_processed_events",
    metadata,
    Column("event_key", String(200), primary_key=True),
    Column("processed_at", TS, nullable=False),
)
