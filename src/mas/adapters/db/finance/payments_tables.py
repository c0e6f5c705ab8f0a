"""The payment mirror (``global_payments``, payments-finance.md §3 GlobalPayment) and the sync's
state row (``global_payment_sync``: the cursor and the lock, one row with id 1 that the first
run writes).

The spec puts finance tables in a ``superadmin`` PostgreSQL schema; mas keeps one schema on
both databases (the names are unique already), as the audit part's tables do.
"""

from __future__ import annotations

from advanced_alchemy.types import GUID, DateTimeUTC, JsonB
from sqlalchemy import BigInteger, CheckConstraint, Column, Index, Integer, String, Table, Text

from mas.adapters.db.base import metadata

TS = DateTimeUTC(timezone=True)

global_payments = Table(
    "global_payments",
    metadata,
    Column("id", GUID, primary_key=True),
    Column("razorpay_payment_id", String(64), nullable=False),
    Column("razorpay_order_id", String(64), nullable=True),
    Column("razorpay_invoice_id", String(64), nullable=True),
    Column("amount_paise", BigInteger, nullable=False),
    Column("amount_refunded_paise", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("gateway_status", String(16), nullable=False),
    Column("method", String(32), nullable=True),
    Column("email", String(254), nullable=True),
    Column("contact", String(32), nullable=True),
    Column("description", Text, nullable=True),
    Column("notes", JsonB, nullable=False),
    Column("fee_paise", BigInteger, nullable=True),
    Column("fee_tax_paise", BigInteger, nullable=True),
    Column("gateway_created_at", TS, nullable=True),
    Column("captured_at", TS, nullable=True),
    Column("raw", JsonB, nullable=False),
    Column("source", String(16), nullable=False),
    Column("reconciliation_status", String(16), nullable=False),
    Column("matched_entity_type", String(32), nullable=True),
    Column("matched_entity_id", GUID, nullable=True),
    Column("user_id", GUID, nullable=True),
    Column("ignore_reason", String(300), nullable=True),
    Column("match_flag", String(32), nullable=True),
    Column("synced_at", TS, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    CheckConstraint("amount_paise >= 0", name="amount_not_negative"),
    CheckConstraint("amount_refunded_paise >= 0", name="refund_not_negative"),
    Index("uq_global_payments_payment_id", "razorpay_payment_id", unique=True),
    Index("ix_global_payments_order_id", "razorpay_order_id"),
    Index("ix_global_payments_created", "gateway_created_at"),
    Index("ix_global_payments_reconciliation", "reconciliation_status", "gateway_created_at"),
)

global_payment_sync = Table(
    "global_payment_sync",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("last_synced_to", TS, nullable=True),
    Column("holder", String(64), nullable=True),
    Column("running_since", TS, nullable=True),
    Column("lease_until", TS, nullable=True),
    Column("last_status", String(16), nullable=True),
    Column("last_error", String(500), nullable=True),
    Column("last_run_at", TS, nullable=True),
    Column("last_window_from", TS, nullable=True),
    Column("last_window_to", TS, nullable=True),
    Column("last_count", BigInteger, nullable=False),
)
