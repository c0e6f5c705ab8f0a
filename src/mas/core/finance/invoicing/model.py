"""GST invoices (payments-finance.md §3 GstInvoice, §4): what a draft holds, how its tax is
computed from the masters, and which moves are legal.

A draft is prefilled from its payment and recomputed on every edit; issuing freezes it and
gives it the next number; nothing of an ISSUED invoice changes but its cancellation.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Annotated

import msgspec

from mas.core.finance.invoicing import gst, gstin
from mas.core.finance.invoicing.numbers import IST
from mas.core.platform.bounds import EmailAddress
from mas.core.platform.errors import FieldError, InvalidState, ValidationFailed

StateCode = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{2}$", min_length=2, max_length=2)]
HsnSac = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{4,8}$", min_length=4, max_length=8)]
Gstin = Annotated[str, msgspec.Meta(min_length=15, max_length=15)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Address = Annotated[str, msgspec.Meta(max_length=500)]
LineText = Annotated[str, msgspec.Meta(min_length=1, max_length=300)]


class InvoiceKind(enum.StrEnum):
    TAX_INVOICE = "TAX_INVOICE"
    CREDIT_NOTE = "CREDIT_NOTE"


class InvoiceStatus(enum.StrEnum):
    DRAFT = "DRAFT"
    ISSUED = "ISSUED"
    CANCELLED = "CANCELLED"
    VOID = "VOID"


PREFIX = {InvoiceKind.TAX_INVOICE: "MAS", InvoiceKind.CREDIT_NOTE: "CN"}

TRANSITIONS: dict[InvoiceStatus, frozenset[InvoiceStatus]] = {
    InvoiceStatus.DRAFT: frozenset({InvoiceStatus.ISSUED, InvoiceStatus.VOID}),
    InvoiceStatus.ISSUED: frozenset({InvoiceStatus.CANCELLED}),
    InvoiceStatus.CANCELLED: frozenset(),
    InvoiceStatus.VOID: frozenset(),
}


def check_move(current: InvoiceStatus, target: InvoiceStatus) -> None:
    if target not in TRANSITIONS[current]:
        raise InvalidState("invoice", current.value, target.value)


class StateCodeRow(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    name: str
    is_union_territory: bool
    uses_utgst: bool


class RateRow(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    code: str
    description: str
    gst_rate_bp: int
    effective_from: date
    effective_to: date | None

    def covers(self, day: date) -> bool:
        return self.effective_from <= day and (
            self.effective_to is None or day <= self.effective_to
        )


class Customer(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The editable part of a draft (payments-finance.md: "editable in DRAFT")."""

    customer_name: Name
    customer_email: EmailAddress | None = None
    billing_address: Address = ""
    customer_gstin: Gstin | None = None
    customer_state_code: StateCode | None = None
    hsn_sac_code: HsnSac = "999293"
    line_description: LineText = "Training and coaching services"
    quantity: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 1


class Supplier(msgspec.Struct, frozen=True, kw_only=True):
    gstin: str
    state_code: str


def check_customer(customer: Customer, states: dict[str, StateCodeRow]) -> None:
    """422 naming every field that is wrong (the draft is left unchanged)."""
    errors: list[FieldError] = []
    state = customer.customer_state_code
    if state is not None and state not in states:
        errors.append(FieldError("customer_state_code", f"no GST state {state}"))
    if customer.customer_gstin is not None:
        if state is None:
            errors.append(FieldError("customer_state_code", "a GSTIN needs the customer's state"))
        errors.extend(
            FieldError("customer_gstin", problem)
            for problem in gstin.problems(customer.customer_gstin, state)
        )
    if errors:
        raise ValidationFailed(
            "the invoice's customer details are inconsistent",
            code="invalid_invoice_fields",
            errors=errors,
        )


def place_of_supply(customer: Customer, supplier: Supplier) -> str:
    """Rule 2: the customer's state, else the supplier's."""
    return customer.customer_state_code or supplier.state_code


def tax_for(
    total_paise: int,
    customer: Customer,
    supplier: Supplier,
    rate: RateRow,
    states: dict[str, StateCodeRow],
) -> gst.TaxBreakup:
    pos = place_of_supply(customer, supplier)
    uses_utgst = states[pos].uses_utgst if pos in states else False
    return gst.compute(total_paise, rate.gst_rate_bp, supplier.state_code, pos, uses_utgst)


def rate_on(rows: list[RateRow], code: str, day: date) -> RateRow:
    """Rule 1: the master row of ``code`` effective on ``day``; 422 when there is none."""
    for row in rows:
        if row.code == code and row.covers(day):
            return row
    raise ValidationFailed(
        f"no GST rate for HSN/SAC {code} on {day.isoformat()}",
        code="no_gst_rate",
        errors=[FieldError("hsn_sac_code", f"no rate effective on {day.isoformat()}")],
    )


def overlaps(existing: list[RateRow], start: date, end: date | None) -> list[RateRow]:
    """Rows of the same code whose period meets [start, end] (no two may overlap)."""
    return [
        row
        for row in existing
        if (end is None or row.effective_from <= end)
        and (row.effective_to is None or start <= row.effective_to)
    ]


def capture_day(captured_at: datetime) -> date:
    """The capture date in IST (rule 1 reads the master on it)."""
    return captured_at.astimezone(IST).date()
