"""What each export kind puts in its workbook: one header row and one row per record, money
in paise (integers: a spreadsheet sums them exactly), times in IST as a person reads them."""

from __future__ import annotations

from datetime import datetime

from mas.core.finance.reports.model import (
    IST,
    Cell,
    Gstr1Report,
    InvoiceLine,
    PaymentLine,
    PayoutLine,
    Sheet,
    TaxSums,
)

HEADS = ["taxable_value_paise", "cgst_paise", "sgst_paise", "utgst_paise", "igst_paise"]


def _ist(moment: datetime | None) -> datetime | None:
    # Excel keeps no zone: write the IST wall time the finance team reads.
    return None if moment is None else moment.astimezone(IST).replace(tzinfo=None)


def payments(lines: list[PaymentLine]) -> list[Sheet]:
    header = [
        "razorpay_payment_id",
        "razorpay_order_id",
        "amount_paise",
        "amount_refunded_paise",
        "currency",
        "gateway_status",
        "method",
        "email",
        "source",
        "reconciliation_status",
        "captured_at_ist",
    ]
    rows: list[list[Cell]] = [
        [
            p.razorpay_payment_id,
            p.razorpay_order_id,
            p.amount_paise,
            p.amount_refunded_paise,
            p.currency,
            p.gateway_status,
            p.method,
            p.email,
            p.source,
            p.reconciliation_status,
            _ist(p.captured_at),
        ]
        for p in lines
    ]
    return [Sheet("Payments", header, rows)]


def invoices(lines: list[InvoiceLine]) -> list[Sheet]:
    header = [
        "invoice_number",
        "kind",
        "status",
        "issued_at_ist",
        "customer_name",
        "customer_gstin",
        "place_of_supply",
        "hsn_sac_code",
        "quantity",
        "gst_rate_bp",
        "total_paise",
        *HEADS,
        "original_invoice_number",
    ]
    rows: list[list[Cell]] = [
        [
            i.invoice_number,
            i.kind,
            i.status,
            _ist(i.issued_at),
            i.customer_name,
            i.customer_gstin,
            i.place_of_supply,
            i.hsn_sac_code,
            i.quantity,
            i.gst_rate_bp,
            i.total_paise,
            i.taxable_value_paise,
            i.cgst_paise,
            i.sgst_paise,
            i.utgst_paise,
            i.igst_paise,
            i.original_invoice_number,
        ]
        for i in lines
    ]
    return [Sheet("Invoices", header, rows)]


def _sums(sums: TaxSums) -> list[Cell]:
    return [getattr(sums, head) for head in HEADS] + [sums.total_paise]


def gstr1(report: Gstr1Report) -> list[Sheet]:
    money = [*HEADS, "total_paise"]
    return [
        Sheet(
            "B2B",
            [
                "invoice_number",
                "invoice_date",
                "customer_gstin",
                "customer_name",
                "place_of_supply",
                "gst_rate_bp",
                *money,
            ],
            [
                [
                    b.invoice_number,
                    b.invoice_date,
                    b.customer_gstin,
                    b.customer_name,
                    b.place_of_supply,
                    b.gst_rate_bp,
                    b.taxable_value_paise,
                    b.cgst_paise,
                    b.sgst_paise,
                    b.utgst_paise,
                    b.igst_paise,
                    b.total_paise,
                ]
                for b in report.b2b
            ],
        ),
        Sheet(
            "B2CS",
            ["place_of_supply", "gst_rate_bp", "invoices", *money],
            [[r.place_of_supply, r.gst_rate_bp, r.invoices, *_sums(r)] for r in report.b2cs],
        ),
        Sheet(
            "HSN",
            ["hsn_sac_code", "gst_rate_bp", "quantity", *money],
            [[r.hsn_sac_code, r.gst_rate_bp, r.quantity, *_sums(r)] for r in report.hsn],
        ),
        Sheet(
            "Credit notes",
            [
                "note_number",
                "note_date",
                "original_invoice_number",
                "customer_gstin",
                "place_of_supply",
                "gst_rate_bp",
                *money,
            ],
            [
                [
                    n.note_number,
                    n.note_date,
                    n.original_invoice_number,
                    n.customer_gstin,
                    n.place_of_supply,
                    n.gst_rate_bp,
                    n.taxable_value_paise,
                    n.cgst_paise,
                    n.sgst_paise,
                    n.utgst_paise,
                    n.igst_paise,
                    n.total_paise,
                ]
                for n in report.credit_notes
            ],
        ),
        Sheet(
            "Documents",
            ["series", "first_number", "last_number", "total", "cancelled"],
            [
                [d.kind, d.first_number, d.last_number, d.total, d.cancelled]
                for d in report.documents
            ],
        ),
        Sheet(
            "Totals",
            ["line", *money],
            [
                ["invoices", *_sums(report.invoices)],
                ["credit_notes", *_sums(report.credit_notes_total)],
                ["net", *_sums(report.totals)],
            ],
        ),
    ]


def payouts(lines: list[PayoutLine]) -> list[Sheet]:
    header = [
        "withdrawal_id",
        "mentor_id",
        "mentor_email",
        "amount_paise",
        "status",
        "payout_mode",
        "reference",
        "requested_at_ist",
        "completed_at_ist",
    ]
    rows: list[list[Cell]] = [
        [
            str(p.id),
            str(p.mentor_id),
            p.mentor_email,
            p.amount_paise,
            p.status,
            p.payout_mode,
            p.reference,
            _ist(p.requested_at),
            _ist(p.completed_at),
        ]
        for p in lines
    ]
    return [Sheet("Payouts", header, rows)]


def row_count(sheets: list[Sheet]) -> int:
    """The records exported: the first sheet's rows (the GSTR-1 summary: every sheet's)."""
    return sum(len(sheet.rows) for sheet in sheets if sheet.title != "Totals")
