"""The revenue report (payments-finance.md §5 ``/api/finance/reports/revenue``).

A payment counts in the bucket of its capture (the IST day, or its source): ``gross`` is what
was captured, ``refunds`` what went back, ``tax`` the GST its ISSUED invoice carries less its
ISSUED credit notes, and ``net = gross − refunds − tax`` (the company's own revenue; a refund's
GST comes back through its credit note, so refunded tax is not subtracted twice).
"""

from __future__ import annotations

from collections.abc import Iterable

from mas.core.finance.reports.model import (
    GroupBy,
    PaymentLine,
    Period,
    RevenueReport,
    RevenueRow,
    ist_day,
)


def add(row: RevenueRow, payment: PaymentLine) -> None:
    row.payments += 1
    row.gross_paise += payment.amount_paise
    row.refunds_paise += payment.amount_refunded_paise
    row.tax_paise += payment.tax_paise
    row.net_paise += payment.amount_paise - payment.amount_refunded_paise - payment.tax_paise


def bucket(payment: PaymentLine, group_by: GroupBy) -> str:
    if group_by is GroupBy.SOURCE or payment.captured_at is None:
        return payment.source
    return ist_day(payment.captured_at).isoformat()


def summarize(period: Period, group_by: GroupBy, payments: Iterable[PaymentLine]) -> RevenueReport:
    rows: dict[str, RevenueRow] = {}
    totals = RevenueRow(key="total")
    for payment in payments:
        key = bucket(payment, group_by)
        add(rows.setdefault(key, RevenueRow(key=key)), payment)
        add(totals, payment)
    return RevenueReport(
        period_from=period.first,
        period_to=period.last,
        group_by=group_by,
        rows=[rows[key] for key in sorted(rows)],
        totals=totals,
    )
