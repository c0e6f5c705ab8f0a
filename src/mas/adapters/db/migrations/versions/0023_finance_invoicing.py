"""finance invoicing (GST invoices, their numbering, the HSN/SAC and state-code masters; the
outbox's attachment keys for invoice PDFs)

Revision ID: 0023_finance_invoicing
Revises: 0022_finance_payments
Create Date: 2026-12-04 23:20:00
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

from mas.core.finance.invoicing.states import SEED

revision: str = "0023_finance_invoicing"
down_revision: str | None = "0022_finance_payments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GUID = advanced_alchemy.types.guid.GUID(length=16)
TS = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)
# The designed seed: SAC 999293 (commercial training and coaching) at 18 % since GST began.
SAC_SEED_ID = "0190a000-0000-7000-8000-000000999293"


def upgrade() -> None:
    op.create_table(
        "gst_invoices",
        sa.Column("id", GUID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("global_payment_id", GUID, nullable=False),
        sa.Column("original_invoice_id", GUID, nullable=True),
        sa.Column("refund_key", sa.String(length=80), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("invoice_number", sa.String(length=16), nullable=True),
        sa.Column("financial_year", sa.String(length=5), nullable=False),
        sa.Column("supplier_gstin", sa.String(length=15), nullable=False),
        sa.Column("supplier_state_code", sa.String(length=2), nullable=False),
        sa.Column("customer_name", sa.String(length=200), nullable=False),
        sa.Column("customer_email", sa.String(length=254), nullable=True),
        sa.Column("billing_address", sa.String(length=500), nullable=False),
        sa.Column("customer_gstin", sa.String(length=15), nullable=True),
        sa.Column("customer_state_code", sa.String(length=2), nullable=True),
        sa.Column("place_of_supply_state_code", sa.String(length=2), nullable=False),
        sa.Column("hsn_sac_code", sa.String(length=8), nullable=False),
        sa.Column("line_description", sa.String(length=300), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("total_paise", sa.BigInteger(), nullable=False),
        sa.Column("taxable_value_paise", sa.BigInteger(), nullable=False),
        sa.Column("gst_rate_bp", sa.Integer(), nullable=False),
        sa.Column("tax_regime", sa.String(length=16), nullable=False),
        sa.Column("cgst_paise", sa.BigInteger(), nullable=False),
        sa.Column("sgst_paise", sa.BigInteger(), nullable=False),
        sa.Column("utgst_paise", sa.BigInteger(), nullable=False),
        sa.Column("igst_paise", sa.BigInteger(), nullable=False),
        sa.Column("reverse_charge", sa.Boolean(), nullable=False),
        sa.Column("captured_at", TS, nullable=False),
        sa.Column("issued_at", TS, nullable=True),
        sa.Column("issued_by", GUID, nullable=True),
        sa.Column("cancelled_at", TS, nullable=True),
        sa.Column("cancelled_by", GUID, nullable=True),
        sa.Column("cancel_reason", sa.String(length=300), nullable=True),
        sa.Column("pdf_storage_key", sa.String(length=200), nullable=True),
        sa.Column("emailed_at", TS, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gst_invoices")),
        sa.UniqueConstraint("invoice_number", name=op.f("uq_gst_invoices_invoice_number")),
    )
    op.create_index(
        "uq_gst_invoices_tax_invoice_payment",
        "gst_invoices",
        ["global_payment_id"],
        unique=True,
        postgresql_where=sa.text("kind = 'TAX_INVOICE'"),
        sqlite_where=sa.text("kind = 'TAX_INVOICE'"),
    )
    op.create_index(
        "uq_gst_invoices_credit_refund",
        "gst_invoices",
        ["original_invoice_id", "refund_key"],
        unique=True,
    )
    op.create_index("ix_gst_invoices_payment", "gst_invoices", ["global_payment_id"])
    op.create_index("ix_gst_invoices_status", "gst_invoices", ["status", "created_at"])
    op.create_table(
        "invoice_sequences",
        sa.Column("financial_year", sa.String(length=5), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("financial_year", "kind", name="pk_invoice_sequences"),
    )
    rates = op.create_table(
        "hsn_sac_rates",
        sa.Column("id", GUID, nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("gst_rate_bp", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.Column("created_by", GUID, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hsn_sac_rates")),
    )
    op.create_index("ix_hsn_sac_rates_code", "hsn_sac_rates", ["code", "effective_from"])
    states = op.create_table(
        "gst_state_codes",
        sa.Column("code", sa.String(length=2), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("is_union_territory", sa.Boolean(), nullable=False),
        sa.Column("uses_utgst", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_gst_state_codes")),
    )
    seeded_at = datetime(2026, 12, 5, tzinfo=UTC)
    op.bulk_insert(
        rates,
        [
            {
                "id": uuid.UUID(SAC_SEED_ID),
                "code": "999293",
                "description": "Commercial training and coaching services",
                "gst_rate_bp": 1800,
                "effective_from": date(2017, 7, 1),
                "effective_to": None,
                "created_by": None,
                "created_at": seeded_at,
                "updated_at": seeded_at,
            }
        ],
    )
    op.bulk_insert(
        states,
        [
            {
                "code": s.code,
                "name": s.name,
                "is_union_territory": s.is_union_territory,
                "uses_utgst": s.uses_utgst,
            }
            for s in SEED
        ],
    )
    with op.batch_alter_table("outbox_messages") as batch:
        batch.add_column(sa.Column("attachment_keys", advanced_alchemy.types.JsonB, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_messages") as batch:
        batch.drop_column("attachment_keys")
    op.drop_table("gst_state_codes")
    op.drop_index("ix_hsn_sac_rates_code", table_name="hsn_sac_rates")
    op.drop_table("hsn_sac_rates")
    op.drop_table("invoice_sequences")
    op.drop_index("ix_gst_invoices_status", table_name="gst_invoices")
    op.drop_index("ix_gst_invoices_payment", table_name="gst_invoices")
    op.drop_index("uq_gst_invoices_credit_refund", table_name="gst_invoices")
    op.drop_index("uq_gst_invoices_tax_invoice_payment", table_name="gst_invoices")
    op.drop_table("gst_invoices")
