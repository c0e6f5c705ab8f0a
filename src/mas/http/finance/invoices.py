"""GST invoices over HTTP (payments-finance.md §5): FINANCE (and ADMIN) draft an invoice from a
captured payment, edit it while it is a DRAFT, issue, void, cancel, list, fetch its PDF and
resend its mail; the payer fetches the PDF of their own invoice.

Every refusal is the service's: 409 for a state the action does not apply to, 422 naming the
fields of an inconsistent edit, 503 ``integration_not_configured`` without ``MAS_SUPPLIER_GSTIN``.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import get, post, put
from litestar.params import FromPath, JSONBody, QueryParameter

from mas.core.finance.invoicing.commands import CancelInvoice
from mas.core.finance.invoicing.documents import PdfLink
from mas.core.finance.invoicing.invoice import GstInvoice
from mas.core.finance.invoicing.model import Customer, InvoiceKind, InvoiceStatus
from mas.core.finance.invoicing.ports import InvoiceFilter
from mas.core.platform.paging import Page, PageRequest
from mas.http.finance import Finance, FinanceController
from mas.http.params import CallerDep, PageNo, PageSize

CHANGED = {"invoice_changed": "nobody changed the invoice meanwhile (reload and retry)"}
TRANSITION = {
    "illegal_transition": "the invoice is in a state this action applies to",
    **CHANGED,
}
CAPTURE = {
    "payment_not_captured": "the payment is captured at the gateway",
    "payment_missing": "the invoice's payment is mirrored",
}
DRAFT_RULES = {
    **CAPTURE,
    "invoice_exists": "the payment has no tax invoice yet",
    "no_gst_rate": "the HSN/SAC master has a rate on the payment's capture date",
}
DRAFT_STATUS = {code: 409 for code in DRAFT_RULES} | {"no_gst_rate": 422}
EDIT_RULES = {
    "invoice_not_draft": "only a DRAFT invoice is edited",
    **CHANGED,
    "invalid_invoice_fields": "the GSTIN passes its checksum and belongs to customer_state_code, "
    "a known state",
    "no_gst_rate": "the HSN/SAC code has a rate on the capture date",
}
EDIT_STATUS = {"invoice_not_draft": 409, "invoice_changed": 409}
ISSUE_RULES = {**TRANSITION, **CAPTURE}
PDF_RULES = {"pdf_not_ready": "the invoice is issued and its PDF rendered"}
EMAIL_RULES = {
    "invoice_not_issued": "only an ISSUED invoice is mailed",
    **CHANGED,
    "no_customer_email": "the invoice has a customer email",
    "invalid_address": "the customer email (as the payer gave it) can receive mail",
}
EMAIL_STATUS = {"invoice_not_issued": 409, "invoice_changed": 409}

StatusFilter = Annotated[InvoiceStatus | None, QueryParameter(description="only this status")]
KindFilter = Annotated[InvoiceKind | None, QueryParameter(description="only this kind")]
PaymentFilter = Annotated[
    uuid.UUID | None, QueryParameter(name="paymentId", description="only this payment's")
]
YearFilter = Annotated[
    str | None,
    QueryParameter(
        name="financialYear", max_length=5, pattern=r"^[0-9]{2}-[0-9]{2}$", description="e.g. 25-26"
    ),
]


class InvoiceController(FinanceController):
    path = "/api/finance/invoices"
    tags = ["finance: invoices"]
    opt = {"policy": "finance"}

    @get("", operation_id="financeInvoices", summary="Invoices and credit notes, newest first")
    async def list_invoices(
        self,
        finance: Finance,
        status: StatusFilter = None,
        kind: KindFilter = None,
        payment_id: PaymentFilter = None,
        financial_year: YearFilter = None,
        page: PageNo = 1,
        page_size: PageSize = 20,
    ) -> Page[GstInvoice]:
        flt = InvoiceFilter(
            status=status, kind=kind, payment_id=payment_id, financial_year=financial_year
        )
        return await finance.invoicing.desk.page(flt, PageRequest(page, page_size))

    @get("/{invoice_id:uuid}", operation_id="financeInvoice", summary="One invoice")
    async def detail(self, finance: Finance, invoice_id: FromPath[uuid.UUID]) -> GstInvoice:
        return await finance.invoicing.desk.get(invoice_id)

    @put(
        "/{invoice_id:uuid}",
        operation_id="editFinanceInvoice",
        summary="Edit a DRAFT's customer, GSTIN, state and HSN/SAC (tax recomputed)",
        opt={"rules": EDIT_RULES, "rules_status": EDIT_STATUS},
    )
    async def edit(
        self,
        finance: Finance,
        caller: CallerDep,
        invoice_id: FromPath[uuid.UUID],
        data: JSONBody[Customer],
    ) -> GstInvoice:
        return await finance.invoicing.desk.edit(caller, invoice_id, data)

    @post(
        "/{invoice_id:uuid}/issue",
        operation_id="issueFinanceInvoice",
        summary="Issue a DRAFT: next number, fields frozen, PDF and mail queued",
        status_code=200,
        opt={"rules": ISSUE_RULES, "rules_status": 409, "problems": (503,)},
    )
    async def issue(
        self, finance: Finance, caller: CallerDep, invoice_id: FromPath[uuid.UUID]
    ) -> GstInvoice:
        return await finance.invoicing.desk.issue(caller, invoice_id)

    @post(
        "/{invoice_id:uuid}/void",
        operation_id="voidFinanceInvoice",
        summary="Discard a DRAFT (no number is used)",
        status_code=200,
        opt={"rules": TRANSITION, "rules_status": 409},
    )
    async def void(
        self, finance: Finance, caller: CallerDep, invoice_id: FromPath[uuid.UUID]
    ) -> GstInvoice:
        return await finance.invoicing.desk.void(caller, invoice_id)

    @post(
        "/{invoice_id:uuid}/cancel",
        operation_id="cancelFinanceInvoice",
        summary="Cancel an ISSUED invoice with a reason (its number stays used)",
        status_code=200,
        opt={"rules": TRANSITION, "rules_status": 409},
    )
    async def cancel(
        self,
        finance: Finance,
        caller: CallerDep,
        invoice_id: FromPath[uuid.UUID],
        data: JSONBody[CancelInvoice],
    ) -> GstInvoice:
        return await finance.invoicing.desk.cancel(caller, invoice_id, data.reason)

    @get(
        "/{invoice_id:uuid}/pdf",
        operation_id="financeInvoicePdf",
        summary="A presigned URL of the invoice's PDF",
        opt={"rules": PDF_RULES, "rules_status": 409},
    )
    async def pdf(self, finance: Finance, invoice_id: FromPath[uuid.UUID]) -> PdfLink:
        return await finance.invoicing.documents.pdf_link(invoice_id)

    @post(
        "/{invoice_id:uuid}/email",
        operation_id="emailFinanceInvoice",
        summary="Mail the ISSUED invoice to its customer again, PDF attached",
        status_code=200,
        opt={"rules": EMAIL_RULES, "rules_status": EMAIL_STATUS},
    )
    async def email(
        self, finance: Finance, caller: CallerDep, invoice_id: FromPath[uuid.UUID]
    ) -> GstInvoice:
        return await finance.invoicing.documents.resend(caller, invoice_id)


class PaymentInvoiceController(FinanceController):
    path = "/api/finance/payments"
    tags = ["finance: invoices"]
    opt = {"policy": "finance"}

    @post(
        "/{payment_id:uuid}/invoice",
        operation_id="draftFinanceInvoice",
        summary="Draft the payment's tax invoice (prefilled, tax computed)",
        status_code=201,
        opt={"rules": DRAFT_RULES, "rules_status": DRAFT_STATUS, "problems": (503,)},
    )
    async def draft(
        self, finance: Finance, caller: CallerDep, payment_id: FromPath[uuid.UUID]
    ) -> GstInvoice:
        return await finance.invoicing.desk.draft(caller, payment_id)


class PayerInvoiceController(FinanceController):
    path = "/api/invoices"
    tags = ["finance: invoices"]
    opt = {"policy": "authenticated"}

    @get(
        "/{invoice_id:uuid}/pdf",
        operation_id="myInvoicePdf",
        summary="A presigned URL of the PDF of an invoice of my payment",
        opt={"rules": PDF_RULES, "rules_status": 409},
    )
    async def pdf(
        self, finance: Finance, caller: CallerDep, invoice_id: FromPath[uuid.UUID]
    ) -> PdfLink:
        return await finance.invoicing.documents.pdf_link(invoice_id, payer=caller)
