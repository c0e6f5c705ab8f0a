"""The GSTR-1 summary of a period (payments-finance.md §5, §9 check 14), from its numbered
documents.

Which documents count: tax invoices and credit notes whose number was assigned (``issued_at``)
in the period. An ISSUED tax invoice with the customer's GSTIN is B2B and listed on its own;
one without is B2C and summed by place of supply and rate (GSTR-1's B2CS). ISSUED credit notes
are listed on their own and subtract from the HSN summary and the totals. A CANCELLED
document counts only in the document-number summary: its number was used, its money was not.
So ``totals`` = ISSUED tax invoices − ISSUED credit notes of the period, head by head.
"""

from __future__ import annotations

from collections.abc import Iterable

from mas.core.finance.reports.model import (
    B2bInvoice,
    B2csRow,
    CreditNoteRow,
    DocumentSeries,
    Gstr1Report,
    HsnRow,
    InvoiceLine,
    Period,
    TaxSums,
    ist_day,
)

TAX_INVOICE = "TAX_INVOICE"
CREDIT_NOTE = "CREDIT_NOTE"
ISSUED = "ISSUED"
CANCELLED = "CANCELLED"


def _b2b(line: InvoiceLine, gstin: str) -> B2bInvoice:
    return B2bInvoice(
        invoice_number=line.invoice_number,
        invoice_date=ist_day(line.issued_at),
        customer_gstin=gstin,
        customer_name=line.customer_name,
        place_of_supply=line.place_of_supply,
        gst_rate_bp=line.gst_rate_bp,
        reverse_charge=False,
        taxable_value_paise=line.taxable_value_paise,
        cgst_paise=line.cgst_paise,
        sgst_paise=line.sgst_paise,
        utgst_paise=line.utgst_paise,
        igst_paise=line.igst_paise,
        total_paise=line.total_paise,
    )


def _credit_note(line: InvoiceLine) -> CreditNoteRow:
    return CreditNoteRow(
        note_number=line.invoice_number,
        note_date=ist_day(line.issued_at),
        original_invoice_number=line.original_invoice_number,
        customer_gstin=line.customer_gstin,
        customer_name=line.customer_name,
        place_of_supply=line.place_of_supply,
        gst_rate_bp=line.gst_rate_bp,
        taxable_value_paise=line.taxable_value_paise,
        cgst_paise=line.cgst_paise,
        sgst_paise=line.sgst_paise,
        utgst_paise=line.utgst_paise,
        igst_paise=line.igst_paise,
        total_paise=line.total_paise,
    )


def _series_key(number: str) -> tuple[str, int]:
    """``MAS/25-26/000123`` → (``MAS/25-26``, 123): numbers sort within their series."""
    series, _, sequence = number.rpartition("/")
    return series, int(sequence) if sequence.isdigit() else 0


def summarize(period: Period, lines: Iterable[InvoiceLine]) -> Gstr1Report:
    b2b: list[B2bInvoice] = []
    b2cs: dict[tuple[str, int], B2csRow] = {}
    hsn: dict[tuple[str, int], HsnRow] = {}
    notes: list[CreditNoteRow] = []
    series: dict[str, DocumentSeries] = {}
    invoices, credited = TaxSums(), TaxSums()
    for line in sorted(lines, key=lambda found: _series_key(found.invoice_number)):
        name, _ = _series_key(line.invoice_number)
        documents = series.setdefault(
            name,
            DocumentSeries(
                kind=line.kind, first_number=line.invoice_number, last_number=line.invoice_number
            ),
        )
        documents.last_number = line.invoice_number
        documents.total += 1
        if line.status != ISSUED:
            documents.cancelled += 1
            continue
        sign = 1 if line.kind == TAX_INVOICE else -1
        code = hsn.setdefault(
            (line.hsn_sac_code, line.gst_rate_bp),
            HsnRow(hsn_sac_code=line.hsn_sac_code, gst_rate_bp=line.gst_rate_bp),
        )
        code.add(line, sign)
        code.quantity += sign * line.quantity
        if line.kind == CREDIT_NOTE:
            notes.append(_credit_note(line))
            credited.add(line)
            continue
        invoices.add(line)
        if line.customer_gstin:
            b2b.append(_b2b(line, line.customer_gstin))
            continue
        row = b2cs.setdefault(
            (line.place_of_supply, line.gst_rate_bp),
            B2csRow(place_of_supply=line.place_of_supply, gst_rate_bp=line.gst_rate_bp),
        )
        row.add(line)
        row.invoices += 1
    totals = TaxSums()
    for head in TaxSums.__struct_fields__:
        setattr(totals, head, getattr(invoices, head) - getattr(credited, head))
    return Gstr1Report(
        period_from=period.first,
        period_to=period.last,
        b2b=b2b,
        b2cs=[b2cs[key] for key in sorted(b2cs)],
        hsn=[hsn[key] for key in sorted(hsn)],
        credit_notes=notes,
        documents=[series[key] for key in sorted(series)],
        invoices=invoices,
        credit_notes_total=credited,
        totals=totals,
    )
