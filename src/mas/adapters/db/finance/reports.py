"""The reports part's read port over the payments and invoicing parts' tables
(``global_payments``, ``gst_invoices``), in SQLAlchemy Core.

The tables are the payments and invoicing parts' own ``Table`` objects (one definition of each
column); this module only reads them.

Both reports read set-based: GSTR-1 takes the numbered documents of a period in one query
(credit notes joined to their original's number); revenue takes the captured payments of a
period with their invoices' net GST from one grouped subquery.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mas.adapters.db.finance.invoicing_tables import gst_invoices
from mas.adapters.db.finance.payments_tables import global_payments
from mas.core.finance.reports.model import InvoiceLine, PaymentLine, Period
from mas.core.platform.time import as_utc

INVOICES = gst_invoices
PAYMENTS = global_payments
NUMBERED = ("ISSUED", "CANCELLED")
CAPTURED = ("captured", "refunded")


def _tax_by_payment() -> Any:
    """GST per payment: its ISSUED tax invoice's less its ISSUED credit notes'."""
    tax = (
        INVOICES.c.cgst_paise
        + INVOICES.c.sgst_paise
        + INVOICES.c.utgst_paise
        + INVOICES.c.igst_paise
    )
    signed = case((INVOICES.c.kind == "CREDIT_NOTE", -tax), else_=tax)
    return (
        select(INVOICES.c.global_payment_id.label("payment_id"), func.sum(signed).label("tax"))
        .where(INVOICES.c.status == "ISSUED", INVOICES.c.global_payment_id.is_not(None))
        .group_by(INVOICES.c.global_payment_id)
        .subquery("invoice_tax")
    )


class SqlReportSource:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def invoice_lines(self, period: Period) -> list[InvoiceLine]:
        original = INVOICES.alias("original")
        rows = (
            await self._s.execute(
                select(
                    INVOICES.c.id,
                    INVOICES.c.kind,
                    INVOICES.c.status,
                    INVOICES.c.invoice_number,
                    INVOICES.c.issued_at,
                    INVOICES.c.customer_name,
                    INVOICES.c.customer_gstin,
                    INVOICES.c.place_of_supply_state_code.label("place_of_supply"),
                    INVOICES.c.hsn_sac_code,
                    INVOICES.c.quantity,
                    INVOICES.c.gst_rate_bp,
                    INVOICES.c.total_paise,
                    INVOICES.c.taxable_value_paise,
                    INVOICES.c.cgst_paise,
                    INVOICES.c.sgst_paise,
                    INVOICES.c.utgst_paise,
                    INVOICES.c.igst_paise,
                    INVOICES.c.global_payment_id,
                    original.c.invoice_number.label("original_invoice_number"),
                )
                .select_from(
                    INVOICES.outerjoin(original, original.c.id == INVOICES.c.original_invoice_id)
                )
                .where(
                    INVOICES.c.status.in_(NUMBERED),
                    INVOICES.c.invoice_number.is_not(None),
                    INVOICES.c.issued_at >= period.start,
                    INVOICES.c.issued_at < period.end,
                )
                .order_by(INVOICES.c.issued_at, INVOICES.c.invoice_number)
            )
        ).all()
        return [InvoiceLine(**{**dict(r._mapping), "issued_at": as_utc(r.issued_at)}) for r in rows]

    async def payment_lines(self, period: Period, captured_only: bool) -> list[PaymentLine]:
        tax = _tax_by_payment()
        if captured_only:
            when = PAYMENTS.c.captured_at
            where = [PAYMENTS.c.gateway_status.in_(CAPTURED)]
        else:
            when = func.coalesce(PAYMENTS.c.gateway_created_at, PAYMENTS.c.created_at)
            where = []
        rows = (
            await self._s.execute(
                select(
                    PAYMENTS.c.id,
                    PAYMENTS.c.razorpay_payment_id,
                    PAYMENTS.c.razorpay_order_id,
                    PAYMENTS.c.amount_paise,
                    PAYMENTS.c.amount_refunded_paise,
                    PAYMENTS.c.currency,
                    PAYMENTS.c.gateway_status,
                    PAYMENTS.c.method,
                    PAYMENTS.c.email,
                    PAYMENTS.c.source,
                    PAYMENTS.c.reconciliation_status,
                    PAYMENTS.c.captured_at,
                    func.coalesce(tax.c.tax, 0).label("tax_paise"),
                )
                .select_from(PAYMENTS.outerjoin(tax, tax.c.payment_id == PAYMENTS.c.id))
                .where(*where, when >= period.start, when < period.end)
                .order_by(when, PAYMENTS.c.razorpay_payment_id)
            )
        ).all()
        return [
            PaymentLine(
                **{
                    **dict(r._mapping),
                    "captured_at": as_utc(r.captured_at) if r.captured_at else None,
                    "tax_paise": int(r.tax_paise),
                }
            )
            for r in rows
        ]

    async def counts(self) -> tuple[int, int]:
        unmatched = (
            await self._s.execute(
                select(func.count())
                .select_from(PAYMENTS)
                .where(
                    PAYMENTS.c.reconciliation_status == "UNMATCHED",
                    PAYMENTS.c.gateway_status.in_(CAPTURED),
                )
            )
        ).scalar_one()
        drafts = (
            await self._s.execute(
                select(func.count()).select_from(INVOICES).where(INVOICES.c.status == "DRAFT")
            )
        ).scalar_one()
        return int(unmatched), int(drafts)
