"""The finance manifest's invoicing part: its tables, repositories, controllers and how its
services are built from the container.

Payments are read through the payments part's ``global_payments`` repository on the same unit
of work (``PaymentMirrorReader``); until that part registers it, no payment is mirrored.
PDFs are rendered with fpdf2, stored through the container's Storage and mailed through the
messenger with the PDF attached by its storage key.
"""

from __future__ import annotations

from typing import Any

from mas.adapters.db.finance.invoicing import (
    NoPaymentMirror,
    SqlGstMasterRepository,
    SqlInvoiceRepository,
    SqlInvoiceSequenceRepository,
)
from mas.adapters.pdf.invoice_pdf import FpdfInvoiceRenderer
from mas.core.finance.audit import AuditServices
from mas.core.finance.invoicing import InvoicingPorts, InvoicingServices, build_invoicing
from mas.core.finance.invoicing.mails import MAIL_TEMPLATES as INVOICE_MAILS
from mas.core.finance.invoicing.ports import InvoicingUnitOfWork, PaymentReaderOf
from mas.core.finance.payments.ports import PaymentMirrorReader
from mas.modules.container import Container

TABLES: list[str] = ["mas.adapters.db.finance.invoicing_tables"]
REPOSITORIES: dict[str, Any] = {
    "gst_invoices": SqlInvoiceRepository,
    "invoice_sequences": SqlInvoiceSequenceRepository,
    "gst_masters": SqlGstMasterRepository,
}
CONTROLLERS: list[str] = [
    "mas.http.finance.invoices:InvoiceController",
    "mas.http.finance.invoices:PaymentInvoiceController",
    "mas.http.finance.invoices:PayerInvoiceController",
    "mas.http.finance.gst:GstMasterController",
]
MAIL_TEMPLATES: dict[str, Any] = dict(INVOICE_MAILS)
PAYMENTS_REPOSITORY = "global_payments"


def payment_reader(c: Container) -> PaymentReaderOf:
    if PAYMENTS_REPOSITORY in c.repositories:

        def mirror(uow: InvoicingUnitOfWork) -> PaymentMirrorReader:
            reader: PaymentMirrorReader = getattr(uow, PAYMENTS_REPOSITORY)
            return reader

        return mirror
    nothing = NoPaymentMirror()
    return lambda uow: nothing


def build(c: Container, audit: AuditServices) -> InvoicingServices:
    settings = c.settings
    return build_invoicing(
        InvoicingPorts(
            uow=c.uow,
            clock=c.clock,
            audit=audit,
            payments=payment_reader(c),
            storage=c.storage,
            messenger=c.messenger,
            renderer=FpdfInvoiceRenderer(),
            jobs=c.jobs,
            supplier_gstin=settings.supplier_gstin,
            supplier_name=settings.supplier_name,
            auto_issue_token_invoices=settings.auto_issue_token_invoices,
        )
    )
