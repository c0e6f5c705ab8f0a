"""The GST audit log (``gst_audit_log``) and the head of its chain (``gst_audit_head``).

The log is insert-only: on PostgreSQL a trigger refuses UPDATE and DELETE (migration 0021).
The head is one row (id 1, written by the migration) holding the last sequence number and the
last row's hash; an append writes it first, which serializes appends (see the repository).
"""

from __future__ import annotations

from advanced_alchemy.types import GUID, DateTimeUTC, JsonB
from sqlalchemy import BigInteger, Column, Index, Integer, String, Table

from mas.adapters.db.base import metadata

TS = DateTimeUTC(timezone=True)

gst_audit_log = Table(
    "gst_audit_log",
    metadata,
    Column("id", GUID, primary_key=True),
    Column("seq", BigInteger, nullable=False, unique=True),
    Column("entity_type", String(16), nullable=False),
    Column("entity_id", String(64), nullable=False),
    Column("action", String(16), nullable=False),
    Column("actor_id", GUID, nullable=True),
    Column("before", JsonB, nullable=True),
    Column("after", JsonB, nullable=True),
    Column("ip", String(64), nullable=True),
    Column("created_at", TS, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("row_hash", String(64), nullable=False),
    Index("ix_gst_audit_log_entity", "entity_type", "entity_id", "seq"),
)

gst_audit_head = Table(
    "gst_audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("last_hash", String(64), nullable=False),
)
