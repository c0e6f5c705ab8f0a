"""One GST invoice or credit note as stored (payments-finance.md §3 GstInvoice) and how a draft
is made: prefilled from its payment (a tax invoice) or from the invoice it credits (a credit
note), with the tax computed from the masters.

The same Struct is the row the adapter writes and the body the routes answer; the audit log
keeps ``snapshot`` of it before and after each change.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec

from mas.core.finance.invoicing import gst
from mas.core.finance.invoicing.model import (
    Customer,
    InvoiceKind,
    InvoiceStatus,
    RateRow,
    StateCodeRow,
    Supplier,
    tax_for,
)
from mas.core.finance.invoicing.numbers import financial_year
from mas.core.finance.payments.model import MirroredPayment


class GstInvoice(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    kind: InvoiceKind
    global_payment_id: uuid.UUID
    original_invoice_id: uuid.UUID | None
    refund_key: str | None
    """Credit notes: the refund they answer (its gateway id, or the refunded total)."""
    status: InvoiceStatus
    invoice_number: str | None
    financial_year: str
    supplier_gstin: str
    supplier_state_code: str
    customer_name: str
    customer_email: str | None
    billing_address: str
    customer_gstin: str | None
    customer_state_code: str | None
    place_of_supply_state_code: str
    hsn_sac_code: str
    line_description: str
    quantity: int
    total_paise: int
    taxable_value_paise: int
    gst_rate_bp: int
    tax_regime: gst.TaxRegime
    cgst_paise: int
    sgst_paise: int
    utgst_paise: int
    igst_paise: int
    reverse_charge: bool
    captured_at: datetime
    """The payment's capture time: the day whose rate applies (rule 1)."""
    issued_at: datetime | None
    issued_by: uuid.UUID | None
    cancelled_at: datetime | None
    cancelled_by: uuid.UUID | None
    cancel_reason: str | None
    pdf_storage_key: str | None
    emailed_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime

    @property
    def customer(self) -> Customer:
        return Customer(
            customer_name=self.customer_name,
            customer_email=self.customer_email,
            billing_address=self.billing_address,
            customer_gstin=self.customer_gstin,
            customer_state_code=self.customer_state_code,
            hsn_sac_code=self.hsn_sac_code,
            line_description=self.line_description,
            quantity=self.quantity,
        )

    @property
    def supplier(self) -> Supplier:
        return Supplier(gstin=self.supplier_gstin, state_code=self.supplier_state_code)

    def snapshot(self) -> dict[str, Any]:
        """The audit log's before/after: every field as plain JSON values."""
        data: dict[str, Any] = msgspec.to_builtins(self)
        return data


def with_customer(
    invoice: GstInvoice,
    customer: Customer,
    rate: RateRow,
    states: dict[str, StateCodeRow],
    now: datetime,
) -> GstInvoice:
    """``invoice`` with the edited customer part and its tax recomputed."""
    tax = tax_for(invoice.total_paise, customer, invoice.supplier, rate, states)
    return msgspec.structs.replace(
        invoice,
        **msgspec.structs.asdict(customer),
        **_tax_fields(tax, customer, invoice.supplier),
        updated_at=now,
    )


def draft_for_payment(
    invoice_id: uuid.UUID,
    payment: MirroredPayment,
    supplier: Supplier,
    rate: RateRow,
    states: dict[str, StateCodeRow],
    now: datetime,
) -> GstInvoice:
    """A tax invoice prefilled from a captured payment: the payer's email, no state yet (the
    place of supply is then the supplier's, rule 2), the default training SAC."""
    captured = payment.captured_at or payment.created_at
    customer = Customer(
        customer_name=(payment.email or "Customer")[:200],
        customer_email=payment.email,
        hsn_sac_code=rate.code,
    )
    tax = tax_for(payment.amount_paise, customer, supplier, rate, states)
    return _new(
        invoice_id, InvoiceKind.TAX_INVOICE, payment.id, customer, supplier, tax, captured, now
    )


def draft_credit_note(
    note_id: uuid.UUID,
    original: GstInvoice,
    amount_paise: int,
    refund_key: str,
    states: dict[str, StateCodeRow],
    now: datetime,
) -> GstInvoice:
    """A credit note for ``amount_paise`` of ``original``: same parties, rate and place of supply
    (the tax reversed is the tax charged), in the financial year of the refund."""
    pos = original.place_of_supply_state_code
    uses_utgst = states[pos].uses_utgst if pos in states else False
    tax = gst.compute(
        amount_paise, original.gst_rate_bp, original.supplier_state_code, pos, uses_utgst
    )
    note = _new(
        note_id,
        InvoiceKind.CREDIT_NOTE,
        original.global_payment_id,
        original.customer,
        original.supplier,
        tax,
        original.captured_at,
        now,
    )
    return msgspec.structs.replace(
        note,
        original_invoice_id=original.id,
        refund_key=refund_key,
        financial_year=financial_year(now),
        place_of_supply_state_code=pos,
        line_description=f"Credit for {original.invoice_number}"[:300],
    )


def _tax_fields(tax: gst.TaxBreakup, customer: Customer, supplier: Supplier) -> dict[str, Any]:
    return {
        "place_of_supply_state_code": customer.customer_state_code or supplier.state_code,
        "total_paise": tax.total_paise,
        "taxable_value_paise": tax.taxable_value_paise,
        "gst_rate_bp": tax.gst_rate_bp,
        "tax_regime": tax.tax_regime,
        "cgst_paise": tax.cgst_paise,
        "sgst_paise": tax.sgst_paise,
        "utgst_paise": tax.utgst_paise,
        "igst_paise": tax.igst_paise,
    }


def _new(
    invoice_id: uuid.UUID,
    kind: InvoiceKind,
    payment_id: uuid.UUID,
    customer: Customer,
    supplier: Supplier,
    tax: gst.TaxBreakup,
    captured_at: datetime,
    now: datetime,
) -> GstInvoice:
    return GstInvoice(
        id=invoice_id,
        kind=kind,
        global_payment_id=payment_id,
        original_invoice_id=None,
        refund_key=None,
        status=InvoiceStatus.DRAFT,
        invoice_number=None,
        financial_year=financial_year(captured_at),
        supplier_gstin=supplier.gstin,
        supplier_state_code=supplier.state_code,
        **msgspec.structs.asdict(customer),
        **_tax_fields(tax, customer, supplier),
        reverse_charge=False,
        captured_at=captured_at,
        issued_at=None,
        issued_by=None,
        cancelled_at=None,
        cancelled_by=None,
        cancel_reason=None,
        pdf_storage_key=None,
        emailed_at=None,
        version=1,
        created_at=now,
        updated_at=now,
    )
