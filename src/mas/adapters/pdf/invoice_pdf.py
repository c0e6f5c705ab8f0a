"""Invoice PDFs with fpdf2 (``InvoicePdfRenderer``).

Why fpdf2: it is pure Python, actively released, draws straight to PDF without an HTML engine
or system libraries (reportlab is the other well-kept choice, but its flowables are a larger
API than a one-page tax invoice needs), and it embeds nothing unless asked, so an invoice is a
few kilobytes. The core fonts (Helvetica) are Latin-1: amounts read ``Rs. 350.00`` and any text
outside Latin-1 is replaced, never an error. Rendering is CPU work, so it runs in a worker
thread and never stalls the event loop. fpdf2 is imported by the first rendering, not with the
app: with its fonts, Pillow and cryptography it would cost every process start a few hundred
milliseconds (tests/unit/test_import_budget.py).
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from mas.core.finance.invoicing.invoice import GstInvoice
from mas.core.finance.invoicing.model import InvoiceKind
from mas.core.finance.invoicing.numbers import IST


def _latin(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")


def _money(paise: int) -> str:
    return f"Rs. {paise // 100:,}.{paise % 100:02d}"


def _day(moment: datetime | None) -> str:
    return moment.astimezone(IST).strftime("%d %b %Y") if moment is not None else "-"


def render_pdf(invoice: GstInvoice, supplier_name: str) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_creation_date(invoice.issued_at or invoice.created_at)
    pdf.set_compression(True)
    pdf.add_page()
    pdf.set_auto_page_break(auto=True, margin=15)
    title = "CREDIT NOTE" if invoice.kind is InvoiceKind.CREDIT_NOTE else "TAX INVOICE"
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, title, new_x="LMARGIN", new_y="NEXT", align="C")
    pdf.set_font("Helvetica", size=10)
    rows = [
        ("Supplier", supplier_name),
        ("Supplier GSTIN", invoice.supplier_gstin),
        ("Number", invoice.invoice_number or "DRAFT"),
        ("Date", _day(invoice.issued_at)),
        ("Customer", invoice.customer_name),
        ("Customer GSTIN", invoice.customer_gstin or "-"),
        ("Billing address", invoice.billing_address or "-"),
        ("Place of supply", invoice.place_of_supply_state_code),
        ("Reverse charge", "Yes" if invoice.reverse_charge else "No"),
    ]
    for label, value in rows:
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(45, 7, label)
        pdf.set_font("Helvetica", size=10)
        pdf.multi_cell(0, 7, _latin(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 10)
    widths = (90, 25, 20, 45)
    for width, head in zip(widths, ("Description", "HSN/SAC", "Qty", "Amount"), strict=True):
        pdf.cell(width, 8, head, border=1)
    pdf.ln()
    pdf.set_font("Helvetica", size=10)
    line = (
        _latin(invoice.line_description)[:60],
        invoice.hsn_sac_code,
        str(invoice.quantity),
        _money(invoice.taxable_value_paise),
    )
    for width, value in zip(widths, line, strict=True):
        pdf.cell(width, 8, value, border=1)
    pdf.ln(12)
    rate = f"{invoice.gst_rate_bp / 100:g}%"
    half = f"{invoice.gst_rate_bp / 200:g}%"
    totals = [("Taxable value", invoice.taxable_value_paise)]
    if invoice.cgst_paise or invoice.sgst_paise or invoice.utgst_paise:
        totals.append((f"CGST @ {half}", invoice.cgst_paise))
        state_head = "UTGST" if invoice.utgst_paise else "SGST"
        totals.append((f"{state_head} @ {half}", invoice.sgst_paise + invoice.utgst_paise))
    else:
        totals.append((f"IGST @ {rate}", invoice.igst_paise))
    totals.append(("Total (GST included)", invoice.total_paise))
    for label, paise in totals:
        pdf.cell(135, 7, label, align="R")
        pdf.cell(45, 7, _money(paise), align="R", new_x="LMARGIN", new_y="NEXT")
    if invoice.kind is InvoiceKind.CREDIT_NOTE:
        pdf.ln(4)
        pdf.cell(0, 7, _latin(invoice.line_description), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


class FpdfInvoiceRenderer:
    async def render(self, invoice: GstInvoice, supplier_name: str) -> bytes:
        return await asyncio.to_thread(render_pdf, invoice, supplier_name)
