"""What the reports part reads and shows (payments-finance.md §3 FinanceExport, §5 reports).

Periods are whole days in India's time zone: a person asks for "March" or "1–15 April" and
means IST days, so a period becomes a half-open UTC interval ``[start, end)`` here, once.
Money is integer paise throughout; a credit note's amounts are stored positive and subtract.
"""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Annotated

import msgspec

from mas.core.platform.errors import FieldError, InvalidState, ValidationFailed

IST = timezone(timedelta(hours=5, minutes=30), "IST")
MAX_REPORT_DAYS = 366
"""The longest period a report or export covers (a financial year, leap day included)."""

EARLIEST = date(2000, 1, 1)
LATEST = date(2099, 12, 31)
MONTH_PATTERN = r"^20[0-9]{2}-(0[1-9]|1[0-2])$"


class Period(msgspec.Struct, frozen=True):
    """IST days ``first``..``last`` (inclusive) as the UTC interval ``[start, end)``."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), IST).astimezone(UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(), IST).astimezone(UTC)


def period(first: date, last: date, *, field: str = "to") -> Period:
    """422 ``bad_range`` when ``last`` precedes ``first``, the period exceeds a year, or it
    lies outside the years the books can hold."""
    if not (EARLIEST <= first and last <= LATEST):
        message = f"dates lie between {EARLIEST.isoformat()} and {LATEST.isoformat()}"
    elif last < first:
        message = "must not be before from"
    elif (last - first).days + 1 > MAX_REPORT_DAYS:
        message = f"the period is at most {MAX_REPORT_DAYS} days"
    else:
        return Period(first, last)
    raise ValidationFailed(
        f"{field} {message}", code="bad_range", errors=[FieldError(field, message)]
    )


def month_period(month: str) -> Period:
    """``YYYY-MM`` → that month's IST days (the route's pattern has already checked the form)."""
    try:
        year, number = (int(part) for part in month.split("-"))
        first = date(year, number, 1)
    except ValueError:
        message = "must be YYYY-MM"
        raise ValidationFailed(
            f"month {message}", code="bad_month", errors=[FieldError("month", message)]
        ) from None
    following = date(year + number // 12, number % 12 + 1, 1)
    return Period(first, following - timedelta(days=1))


def ist_day(moment: datetime) -> date:
    return moment.astimezone(IST).date()


# --- what the reports read -------------------------------------------------------------------


class InvoiceLine(msgspec.Struct, frozen=True, kw_only=True):
    """One tax invoice or credit note with a number (ISSUED or CANCELLED), as GSTR-1 reads it."""

    id: uuid.UUID
    kind: str
    """``TAX_INVOICE`` or ``CREDIT_NOTE``."""
    status: str
    """``ISSUED`` or ``CANCELLED``."""
    invoice_number: str
    issued_at: datetime
    customer_name: str
    customer_gstin: str | None
    place_of_supply: str
    hsn_sac_code: str
    quantity: int
    gst_rate_bp: int
    total_paise: int
    taxable_value_paise: int
    cgst_paise: int
    sgst_paise: int
    utgst_paise: int
    igst_paise: int
    original_invoice_number: str | None = None
    global_payment_id: uuid.UUID | None = None


class PaymentLine(msgspec.Struct, frozen=True, kw_only=True):
    """A mirrored payment as the revenue report and the export read it."""

    id: uuid.UUID
    razorpay_payment_id: str
    razorpay_order_id: str | None
    amount_paise: int
    amount_refunded_paise: int
    currency: str
    gateway_status: str
    method: str | None
    email: str | None
    source: str
    reconciliation_status: str
    captured_at: datetime | None
    tax_paise: int = 0
    """GST of the payment's ISSUED tax invoice less its ISSUED credit notes (0 uninvoiced)."""


class PayoutLine(msgspec.Struct, frozen=True, kw_only=True):
    """A mentor withdrawal paid out (read through the tokens domain's public interface)."""

    id: uuid.UUID
    mentor_id: uuid.UUID
    mentor_email: str | None
    amount_paise: int
    status: str
    payout_mode: str | None
    reference: str | None
    requested_at: datetime
    completed_at: datetime | None


# --- GSTR-1 ----------------------------------------------------------------------------------


class TaxSums(msgspec.Struct, kw_only=True):
    taxable_value_paise: int = 0
    cgst_paise: int = 0
    sgst_paise: int = 0
    utgst_paise: int = 0
    igst_paise: int = 0
    total_paise: int = 0

    def add(self, line: InvoiceLine, sign: int = 1) -> None:
        self.taxable_value_paise += sign * line.taxable_value_paise
        self.cgst_paise += sign * line.cgst_paise
        self.sgst_paise += sign * line.sgst_paise
        self.utgst_paise += sign * line.utgst_paise
        self.igst_paise += sign * line.igst_paise
        self.total_paise += sign * line.total_paise


class B2bInvoice(msgspec.Struct, frozen=True, kw_only=True):
    invoice_number: str
    invoice_date: date
    customer_gstin: str
    customer_name: str
    place_of_supply: str
    gst_rate_bp: int
    reverse_charge: bool
    taxable_value_paise: int
    cgst_paise: int
    sgst_paise: int
    utgst_paise: int
    igst_paise: int
    total_paise: int


class B2csRow(TaxSums, kw_only=True):
    place_of_supply: str
    gst_rate_bp: int
    invoices: int = 0


class HsnRow(TaxSums, kw_only=True):
    hsn_sac_code: str
    gst_rate_bp: int
    quantity: int = 0


class CreditNoteRow(msgspec.Struct, frozen=True, kw_only=True):
    note_number: str
    note_date: date
    original_invoice_number: str | None
    customer_gstin: str | None
    customer_name: str
    place_of_supply: str
    gst_rate_bp: int
    taxable_value_paise: int
    cgst_paise: int
    sgst_paise: int
    utgst_paise: int
    igst_paise: int
    total_paise: int


class DocumentSeries(msgspec.Struct, kw_only=True):
    """GSTR-1 table 13: the numbers a series used in the period, cancelled ones included."""

    kind: str
    first_number: str
    last_number: str
    total: int = 0
    cancelled: int = 0


class Gstr1Report(msgspec.Struct, frozen=True, kw_only=True):
    period_from: date
    period_to: date
    b2b: list[B2bInvoice]
    b2cs: list[B2csRow]
    hsn: list[HsnRow]
    credit_notes: list[CreditNoteRow]
    documents: list[DocumentSeries]
    invoices: TaxSums
    """ISSUED tax invoices of the period."""
    credit_notes_total: TaxSums
    totals: TaxSums
    """``invoices`` less ``credit_notes_total``."""


# --- revenue ---------------------------------------------------------------------------------


class GroupBy(enum.StrEnum):
    DAY = "day"
    SOURCE = "source"


class RevenueRow(msgspec.Struct, kw_only=True):
    key: str
    """The IST day (``2026-03-31``) or the payment source."""
    payments: int = 0
    gross_paise: int = 0
    refunds_paise: int = 0
    tax_paise: int = 0
    net_paise: int = 0


class RevenueReport(msgspec.Struct, frozen=True, kw_only=True):
    period_from: date
    period_to: date
    group_by: GroupBy
    rows: list[RevenueRow]
    totals: RevenueRow


class Dashboard(msgspec.Struct, frozen=True, kw_only=True):
    """The finance portal's front page: this IST month so far and what waits for FINANCE."""

    today: RevenueRow
    month_to_date: RevenueRow
    unmatched_payments: int
    draft_invoices: int
    exports_ready: int


# --- exports ---------------------------------------------------------------------------------


class ExportKind(enum.StrEnum):
    PAYMENTS = "PAYMENTS"
    INVOICES = "INVOICES"
    GSTR1_SUMMARY = "GSTR1_SUMMARY"
    PAYOUTS = "PAYOUTS"


class ExportStatus(enum.StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    READY = "READY"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"


EXPORT_MOVES: dict[ExportStatus, frozenset[ExportStatus]] = {
    ExportStatus.QUEUED: frozenset({ExportStatus.RUNNING, ExportStatus.FAILED}),
    # RUNNING → RUNNING: a retried attempt builds again and overwrites the same object.
    ExportStatus.RUNNING: frozenset(
        {ExportStatus.RUNNING, ExportStatus.READY, ExportStatus.FAILED}
    ),
    ExportStatus.READY: frozenset({ExportStatus.EXPIRED}),
    ExportStatus.FAILED: frozenset(),
    ExportStatus.EXPIRED: frozenset(),
}
EXPORT_TTL = timedelta(days=7)
MIN_EXPORT_PASSWORD = 12
MAX_EXPORT_PASSWORD = 128

ExportPassword = Annotated[
    str, msgspec.Meta(min_length=MIN_EXPORT_PASSWORD, max_length=MAX_EXPORT_PASSWORD)
]


class FinanceExport(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    kind: ExportKind
    period_from: date
    period_to: date
    status: ExportStatus
    requested_by: uuid.UUID
    created_at: datetime
    updated_at: datetime
    password_enc: bytes | None = None
    """The requester's password sealed with the server key; None once the job has ended."""
    key_version: int | None = None
    storage_key: str | None = None
    row_count: int | None = None
    error: str | None = None
    expires_at: datetime | None = None
    download_count: int = 0

    def moved(self, target: ExportStatus, now: datetime) -> FinanceExport:
        if target not in EXPORT_MOVES[self.status]:
            raise InvalidState("export", self.status.value, target.value)
        return msgspec.structs.replace(self, status=target, updated_at=now)

    def expired(self, now: datetime) -> bool:
        return self.status is ExportStatus.EXPIRED or (
            self.status is ExportStatus.READY
            and self.expires_at is not None
            and self.expires_at <= now
        )


class NewExport(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    kind: ExportKind
    from_: date = msgspec.field(name="from")
    to: date
    password: ExportPassword


class ExportView(msgspec.Struct, frozen=True, kw_only=True):
    """An export as its requester sees it; never the password."""

    id: uuid.UUID
    kind: ExportKind
    period_from: date
    period_to: date
    status: ExportStatus
    requested_by: uuid.UUID
    row_count: int | None
    error: str | None
    expires_at: datetime | None
    download_count: int
    created_at: datetime
    download_url: str | None = None

    @classmethod
    def of(cls, export: FinanceExport, url: str | None = None) -> ExportView:
        return cls(
            id=export.id,
            kind=export.kind,
            period_from=export.period_from,
            period_to=export.period_to,
            status=export.status,
            requested_by=export.requested_by,
            row_count=export.row_count,
            error=export.error,
            expires_at=export.expires_at,
            download_count=export.download_count,
            created_at=export.created_at,
            download_url=url,
        )


Cell = str | int | date | datetime | None


class Sheet(msgspec.Struct, frozen=True):
    """One worksheet: a title, a header row and the rows (cells are text, ints or dates)."""

    title: str
    header: list[str]
    rows: list[list[Cell]]


# --- the finance team ------------------------------------------------------------------------


class TeamMember(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    email: str
    full_name: str | None
    role: str
    blocked: bool
    created_at: datetime
