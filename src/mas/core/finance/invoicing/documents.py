"""An issued invoice's PDF and its mail (payments-finance.md §6
``finance.render_and_email_invoice``, §5 ``…/pdf`` and ``…/email``, §8).

The task renders once (skipped when ``pdf_storage_key`` is set), stores the PDF through the
Storage port, then mails it with the PDF attached by its storage key under the key
``invoice:{id}`` — so a retried or redelivered task neither renders nor mails twice. A failure
after issue leaves the invoice ISSUED with its number; the task retries, FINANCE can resend.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from mas.core.finance.audit.model import AuditAction
from mas.core.finance.audit.trail import AuditTrail
from mas.core.finance.invoicing.desk import audit_invoice, not_found, refuse_impersonation
from mas.core.finance.invoicing.invoice import GstInvoice
from mas.core.finance.invoicing.model import InvoiceStatus
from mas.core.finance.invoicing.ports import (
    InvoicePdfRenderer,
    InvoicingUnitOfWork,
    PaymentReaderOf,
)
from mas.core.identity.policy import Caller
from mas.core.platform.errors import Conflict, FieldError, ValidationFailed
from mas.core.platform.ids import uuid7
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.messenger import Messenger
from mas.core.platform.ports.storage import Storage

MAIL_TEMPLATE = "finance.invoice"
PDF_URL_TTL_S = 15 * 60


class PdfLink(msgspec.Struct, frozen=True, kw_only=True):
    url: str
    expires_in_s: int
    invoice_number: str


@dataclass(frozen=True)
class DocumentPorts:
    uow: Callable[[], InvoicingUnitOfWork]
    clock: Clock
    trail: AuditTrail
    payments: PaymentReaderOf
    storage: Storage
    messenger: Messenger
    renderer: InvoicePdfRenderer
    supplier_name: str


def storage_key(invoice: GstInvoice) -> str:
    return f"finance/invoices/{invoice.financial_year}/{invoice.id}.pdf"


def mail_data(invoice: GstInvoice, supplier_name: str) -> dict[str, Any]:
    return {
        "supplier_name": supplier_name,
        "customer_name": invoice.customer_name,
        "invoice_number": invoice.invoice_number,
        "kind": invoice.kind.value,
        "total_paise": invoice.total_paise,
    }


class InvoiceDocuments:
    def __init__(self, ports: DocumentPorts) -> None:
        self._p = ports

    async def render_and_email(self, invoice_id: uuid.UUID) -> GstInvoice | None:
        """Idempotent: renders only without a stored PDF, mails only once (``emailed_at``)."""
        async with self._p.uow() as uow:
            found = await uow.gst_invoices.get(invoice_id)
        if found is None or found.invoice_number is None:
            return None
        if found.pdf_storage_key is None:
            found = await self._store_pdf(found)
        if found.status is InvoiceStatus.ISSUED and found.emailed_at is None:
            found = await self._mail(found, None, f"invoice:{found.id}", first=True) or found
        return found

    async def _store_pdf(self, invoice: GstInvoice) -> GstInvoice:
        key = storage_key(invoice)
        data = await self._p.renderer.render(invoice, self._p.supplier_name)
        await self._p.storage.put(key, data, "application/pdf")
        async with self._p.uow() as uow:
            current = await uow.gst_invoices.get(invoice.id, lock=True)
            if current is None:
                raise Conflict("the invoice vanished while rendering", code="invoice_changed")
            if current.pdf_storage_key is not None:
                return current
            stored = msgspec.structs.replace(current, pdf_storage_key=key)
            if not await uow.gst_invoices.save(stored, current.status):
                raise Conflict("the invoice changed meanwhile", code="invoice_changed")
            await uow.commit()
        return msgspec.structs.replace(stored, version=current.version + 1)

    async def _mail(
        self, invoice: GstInvoice, actor: uuid.UUID | None, key: str, *, first: bool
    ) -> GstInvoice | None:
        if invoice.customer_email is None or invoice.pdf_storage_key is None:
            return None
        async with self._p.uow() as uow:
            current = await uow.gst_invoices.get(invoice.id, lock=True)
            if current is None or (first and current.emailed_at is not None):
                return current
            await self._p.messenger.email(
                uow,
                template=MAIL_TEMPLATE,
                to=invoice.customer_email,
                data=mail_data(current, self._p.supplier_name),
                key=key,
                related=("gst_invoice", current.id),
                sent_by=actor,
                attachments=[invoice.pdf_storage_key],
            )
            mailed = msgspec.structs.replace(current, emailed_at=self._p.clock.now())
            if not await uow.gst_invoices.save(mailed, current.status):
                raise Conflict("the invoice changed meanwhile", code="invoice_changed")
            await audit_invoice(self._p.trail, uow, AuditAction.EMAILED, actor, current, mailed)
            await uow.commit()
        return msgspec.structs.replace(mailed, version=current.version + 1)

    async def resend(self, caller: Caller, invoice_id: uuid.UUID) -> GstInvoice:
        """FINANCE's resend: a new mail each time (an explicit request), PDF attached."""
        refuse_impersonation(caller)
        async with self._p.uow() as uow:
            found = await uow.gst_invoices.get(invoice_id)
        if found is None:
            raise not_found()
        if found.status is not InvoiceStatus.ISSUED:
            raise Conflict(
                f"only an ISSUED invoice is mailed (this one is {found.status.value})",
                code="invoice_not_issued",
            )
        if found.customer_email is None:
            raise ValidationFailed(
                "the invoice has no customer email",
                code="no_customer_email",
                errors=[FieldError("customer_email", "set it while the invoice is a draft")],
            )
        if found.pdf_storage_key is None:
            found = await self._store_pdf(found)
        mailed = await self._mail(
            found, caller.user_id, f"invoice:{found.id}:{uuid7()}", first=False
        )
        return mailed or found

    async def pdf_link(self, invoice_id: uuid.UUID, payer: Caller | None = None) -> PdfLink:
        """A presigned URL of the stored PDF; ``payer``: only the payment's own user (anyone
        else gets the same 404 as for a missing invoice)."""
        async with self._p.uow() as uow:
            found = await uow.gst_invoices.get(invoice_id)
            if found is not None and payer is not None:
                payment = await self._p.payments(uow).get(found.global_payment_id)
                if payment is None or payment.user_id != payer.user_id:
                    found = None
        if found is None or (payer is not None and found.invoice_number is None):
            raise not_found()
        if found.pdf_storage_key is None or found.invoice_number is None:
            raise Conflict("the invoice's PDF is not ready yet", code="pdf_not_ready")
        url = await self._p.storage.presign_get(found.pdf_storage_key, PDF_URL_TTL_S)
        return PdfLink(url=url, expires_in_s=PDF_URL_TTL_S, invoice_number=found.invoice_number)
