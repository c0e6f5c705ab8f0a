"""The invoicing part's tables (payments-finance.md §3): ``gst_invoices``,
``invoice_sequences``, ``hsn_sac_rates`` and ``gst_state_codes`` (migration 0023 seeds the two
masters).

One tax invoice per payment is a partial unique index (credit notes share their payment); a
credit note is unique per (original invoice, refund). ``global_payment_id`` names a
``global_payments`` row without a foreign key, as the audit log names its entities: the
payments part owns that table and its migration.
"""

from __future__ import annotations

from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    text,
)

from mas.adapters.db.base import metadata

TS = DateTimeUTC(timezone=True)

gst_invoices = Table(
    "gst_invoices",
    metadata,
    Column("id", GUID, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("global_payment_id", GUID, nullable=False),
    Column("original_invoice_id", GUID, nullable=True),
    Column("refund_key", String(80), nullable=True),
    Column("status", String(16), nullable=False),
    Column("invoice_number", String(16), nullable=True, unique=True),
    Column("financial_year", String(5), nullable=False),
    Column("supplier_gstin", String(15), nullable=False),
    Column("supplier_state_code", String(2), nullable=False),
    Column("customer_name", String(200), nullable=False),
    Column("customer_email", String(254), nullable=True),
    Column("billing_address", String(500), nullable=False),
    Column("customer_gstin", String(15), nullable=True),
    Column("customer_state_code", String(2), nullable=True),
    Column("place_of_supply_state_code", String(2), nullable=False),
    Column("hsn_sac_code", String(8), nullable=False),
    Column("line_description", String(300), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("total_paise", BigInteger, nullable=False),
    Column("taxable_value_paise", BigInteger, nullable=False),
    Column("gst_rate_bp", Integer, nullable=False),
    Column("tax_regime", String(16), nullable=False),
    Column("cgst_paise", BigInteger, nullable=False),
    Column("sgst_paise", BigInteger, nullable=False),
    Column("utgst_paise", BigInteger, nullable=False),
    Column("igst_paise", BigInteger, nullable=False),
    Column("reverse_charge", Boolean, nullable=False),
    Column("captured_at", TS, nullable=False),
    Column("issued_at", TS, nullable=True),
    Column("issued_by", GUID, nullable=True),
    Column("cancelled_at", TS, nullable=True),
    Column("cancelled_by", GUID, nullable=True),
    Column("cancel_reason", String(300), nullable=True),
    Column("pdf_storage_key", String(200), nullable=True),
    Column("emailed_at", TS, nullable=True),
    Column("version", Integer, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Index(
        "uq_gst_invoices_tax_invoice_payment",
        "global_payment_id",
        unique=True,
        postgresql_where=text("kind = 'TAX_INVOICE'"),
        sqlite_where=text("kind = 'TAX_INVOICE'"),
    ),
    Index("uq_gst_invoices_credit_refund", "original_invoice_id", "refund_key", unique=True),
    Index("ix_gst_invoices_payment", "global_payment_id"),
    Index("ix_gst_invoices_status", "status", "created_at"),
)

invoice_sequences = Table(
    "invoice_sequences",
    metadata,
    Column("financial_year", String(5), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("last_number", Integer, nullable=False),
    PrimaryKeyConstraint("financial_year", "kind", name="pk_invoice_sequences"),
)

hsn_sac_rates = Table(
    "hsn_sac_rates",
    metadata,
    Column("id", GUID, primary_key=True),
    Column("code", String(8), nullable=False),
    Column("description", String(300), nullable=False),
    Column("gst_rate_bp", Integer, nullable=False),
    Column("effective_from", Date, nullable=False),
    Column("effective_to", Date, nullable=True),
    Column("created_by", GUID, nullable=True),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Index("ix_hsn_sac_rates_code", "code", "effective_from"),
)

gst_state_codes = Table(
    "gst_state_codes",
    metadata,
    Column("code", String(2), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("is_union_territory", Boolean, nullable=False),
    Column("uses_utgst", Boolean, nullable=False),
)
