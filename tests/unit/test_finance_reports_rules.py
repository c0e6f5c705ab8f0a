"""The reports part's rules on plain data: the GSTR-1 summary (check 14, figures worked by hand
in ``tests/finance_reports_world.py``), the revenue buckets, IST periods and the export state
machine."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import msgspec
import pytest

from mas.core.finance.reports import gstr1, revenue, sheets
from mas.core.finance.reports.model import (
    EXPORT_TTL,
    ExportKind,
    ExportStatus,
    FinanceExport,
    GroupBy,
    NewExport,
    PaymentLine,
    TaxSums,
    month_period,
    period,
)
from mas.core.platform.errors import InvalidState, ValidationFailed
from tests.finance_reports_world import B2B_GSTIN, invoice_lines

MARCH = month_period("2026-03")


def sums(total: int, taxable: int, cgst: int, sgst: int, igst: int) -> TaxSums:
    return TaxSums(
        taxable_value_paise=taxable,
        cgst_paise=cgst,
        sgst_paise=sgst,
        utgst_paise=0,
        igst_paise=igst,
        total_paise=total,
    )


def test_march_is_its_ist_days() -> None:
    assert (MARCH.first, MARCH.last) == (date(2026, 3, 1), date(2026, 3, 31))
    assert MARCH.start == datetime(2026, 2, 28, 18, 30, tzinfo=UTC)
    assert MARCH.end == datetime(2026, 3, 31, 18, 30, tzinfo=UTC)
    assert month_period("2026-12").last == date(2026, 12, 31)


@pytest.mark.parametrize(
    ("first", "last"),
    [
        (date(2026, 3, 2), date(2026, 3, 1)),
        (date(2025, 1, 1), date(2026, 1, 2)),
        (date(1999, 12, 31), date(2000, 1, 1)),
        (date(2099, 12, 1), date(9999, 12, 31)),
    ],
)
def test_a_backwards_long_or_out_of_range_period_is_refused(first: date, last: date) -> None:
    with pytest.raises(ValidationFailed) as refused:
        period(first, last)
    assert refused.value.code == "bad_range"


def test_a_leap_year_fits() -> None:
    assert period(date(2027, 4, 1), date(2028, 3, 31)).last == date(2028, 3, 31)


def test_gstr1_totals_are_issued_invoices_less_credit_notes() -> None:
    report = gstr1.summarize(MARCH, invoice_lines())
    assert report.invoices == sums(94780, 80322, 3569, 3570, 7319)
    assert report.credit_notes_total == sums(11800, 10000, 0, 0, 1800)
    assert report.totals == sums(82980, 70322, 3569, 3570, 5519)


def test_gstr1_lists_b2b_alone_and_sums_b2c_by_place_and_rate() -> None:
    report = gstr1.summarize(MARCH, invoice_lines())
    assert [
        (b.invoice_number, b.customer_gstin, b.cgst_paise, b.sgst_paise) for b in report.b2b
    ] == [("MAS/25-26/000010", B2B_GSTIN, 2669, 2670)]
    assert [
        (
            r.place_of_supply,
            r.gst_rate_bp,
            r.invoices,
            r.taxable_value_paise,
            r.igst_paise,
            r.cgst_paise,
            r.total_paise,
        )
        for r in report.b2cs
    ] == [
        ("07", 1800, 1, 1000, 180, 0, 1180),
        ("27", 1800, 2, 39661, 7139, 0, 46800),
        ("29", 1800, 1, 10000, 0, 900, 11800),
    ]
    assert [
        (n.note_number, n.original_invoice_number, n.igst_paise) for n in report.credit_notes
    ] == [("CN/25-26/000001", "MAS/25-26/000012", 1800)]


def test_gstr1_hsn_is_net_and_documents_count_cancelled_numbers() -> None:
    report = gstr1.summarize(MARCH, invoice_lines())
    [hsn] = report.hsn
    assert (hsn.hsn_sac_code, hsn.quantity, hsn.total_paise, hsn.igst_paise) == (
        "999293",
        4,
        82980,
        5519,
    )
    assert [(d.first_number, d.last_number, d.total, d.cancelled) for d in report.documents] == [
        ("CN/25-26/000001", "CN/25-26/000001", 1, 0),
        ("MAS/25-26/000010", "MAS/25-26/000015", 6, 1),
    ]


def test_gstr1_of_nothing_is_zero() -> None:
    report = gstr1.summarize(MARCH, [])
    assert report.totals == TaxSums() and report.b2b == [] and report.documents == []


def payment(amount: int, refunded: int, tax: int, source: str, captured: datetime) -> PaymentLine:
    return PaymentLine(
        id=uuid.uuid4(),
        razorpay_payment_id="pay_x",
        razorpay_order_id=None,
        amount_paise=amount,
        amount_refunded_paise=refunded,
        currency="INR",
        gateway_status="captured",
        method="upi",
        email=None,
        source=source,
        reconciliation_status="MATCHED",
        captured_at=captured,
        tax_paise=tax,
    )


def test_revenue_buckets_by_ist_day_and_by_source() -> None:
    lines = [
        payment(35000, 0, 5339, "TOKEN_PURCHASE", datetime(2026, 3, 5, 4, tzinfo=UTC)),
        # 20:00 UTC is 01:30 the next day in IST.
        payment(11800, 11800, 0, "ENROLLMENT", datetime(2026, 3, 5, 20, tzinfo=UTC)),
    ]
    by_day = revenue.summarize(MARCH, GroupBy.DAY, lines)
    assert [
        (r.key, r.gross_paise, r.refunds_paise, r.tax_paise, r.net_paise) for r in by_day.rows
    ] == [
        ("2026-03-05", 35000, 0, 5339, 29661),
        ("2026-03-06", 11800, 11800, 0, 0),
    ]
    assert (by_day.totals.gross_paise, by_day.totals.net_paise, by_day.totals.payments) == (
        46800,
        29661,
        2,
    )
    by_source = revenue.summarize(MARCH, GroupBy.SOURCE, lines)
    assert [r.key for r in by_source.rows] == ["ENROLLMENT", "TOKEN_PURCHASE"]


def export(status: ExportStatus) -> FinanceExport:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    return FinanceExport(
        id=uuid.uuid4(),
        kind=ExportKind.PAYMENTS,
        period_from=date(2026, 3, 1),
        period_to=date(2026, 3, 31),
        status=status,
        requested_by=uuid.uuid4(),
        created_at=now,
        updated_at=now,
        expires_at=now + EXPORT_TTL if status is ExportStatus.READY else None,
    )


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (ExportStatus.READY, ExportStatus.RUNNING),
        (ExportStatus.FAILED, ExportStatus.RUNNING),
        (ExportStatus.EXPIRED, ExportStatus.READY),
        (ExportStatus.QUEUED, ExportStatus.READY),
    ],
)
def test_illegal_export_moves_name_both_states(current: ExportStatus, target: ExportStatus) -> None:
    with pytest.raises(InvalidState) as refused:
        export(current).moved(target, datetime.now(UTC))
    assert current.value in str(refused.value) and target.value in str(refused.value)


def test_a_ready_export_expires_after_seven_days() -> None:
    ready = export(ExportStatus.READY)
    assert ready.expires_at is not None
    assert not ready.expired(ready.expires_at - timedelta(seconds=1))
    assert ready.expired(ready.expires_at)


def test_an_export_password_has_twelve_characters_at_least() -> None:
    body = {"kind": "PAYMENTS", "from": "2026-03-01", "to": "2026-03-31"}
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({**body, "password": "elevenchars"}, NewExport)
    taken = msgspec.convert({**body, "password": "twelve chars"}, NewExport)
    assert taken.from_ == date(2026, 3, 1)


def test_the_gstr1_workbook_has_one_sheet_per_table() -> None:
    built = sheets.gstr1(gstr1.summarize(MARCH, invoice_lines()))
    assert [s.title for s in built] == ["B2B", "B2CS", "HSN", "Credit notes", "Documents", "Totals"]
    assert built[-1].rows[-1] == ["net", 70322, 3569, 3570, 0, 5519, 82980]
