"""Password-protected exports (``finance_exports``, payments-finance.md §3 FinanceExport).

``password_enc`` holds the requester's password sealed by the installation's secret box (with
its ``key_version``) only while the job needs it; READY, FAILED and EXPIRED rows hold none.
"""

from __future__ import annotations

from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import Column, Date, Index, Integer, LargeBinary, String, Table

from mas.adapters.db.base import metadata

TS = DateTimeUTC(timezone=True)

finance_exports = Table(
    "finance_exports",
    metadata,
    Column("id", GUID, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("period_from", Date, nullable=False),
    Column("period_to", Date, nullable=False),
    Column("status", String(16), nullable=False),
    Column("requested_by", GUID, nullable=False),
    Column("password_enc", LargeBinary, nullable=True),
    Column("key_version", Integer, nullable=True),
    Column("storage_key", String(255), nullable=True),
    Column("row_count", Integer, nullable=True),
    Column("error", String(500), nullable=True),
    Column("expires_at", TS, nullable=True),
    Column("download_count", Integer, nullable=False, default=0),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Index("ix_finance_exports_requester", "requested_by", "created_at"),
    Index("ix_finance_exports_status_expiry", "status", "expires_at"),
)
