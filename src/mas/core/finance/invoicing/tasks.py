"""The invoicing part's tasks (payments-finance.md §6) and the subscriptions that submit them.

Each event is turned into a keyed run on the job ledger, so a redelivered event is one run and
a failed run is retried with backoff: ``finance.draft_invoice`` (a page of captured payments,
keyed by its ids), ``finance.credit_note_on_refund`` (keyed by payment and refund) and
``finance.render_and_email_invoice`` (keyed by invoice id).
"""

from __future__ import annotations

import hashlib
import uuid
from typing import TYPE_CHECKING

import msgspec

from mas.core.finance.invoicing.events import InvoicesIssued
from mas.core.finance.payments.events import PaymentRefunded, PaymentsCaptured
from mas.core.platform.tasking import Task, TaskPolicy

if TYPE_CHECKING:
    from mas.core.finance.invoicing import InvoicingServices


class CapturedPayments(msgspec.Struct, frozen=True, kw_only=True):
    payment_ids: list[uuid.UUID]


class InvoiceRef(msgspec.Struct, frozen=True, kw_only=True):
    invoice_id: uuid.UUID


def _batch_key(message: CapturedPayments) -> str:
    ids = ",".join(sorted(str(i) for i in message.payment_ids))
    return hashlib.sha256(ids.encode()).hexdigest()


def _refund_key(event: PaymentRefunded) -> str:
    return f"{event.payment_id}:{event.refund_id or event.refunded_paise}"


RETRY = TaskPolicy(attempts=3, backoff_s=60, max_backoff_s=900, timeout_s=600)

DRAFT_INVOICES = Task("finance.draft_invoice", CapturedPayments, RETRY, key=_batch_key)
CREDIT_NOTE = Task("finance.credit_note_on_refund", PaymentRefunded, RETRY, key=_refund_key)
RENDER_AND_EMAIL = Task(
    "finance.render_and_email_invoice",
    InvoiceRef,
    RETRY,
    key=lambda m: str(m.invoice_id),
)


async def draft_invoices(invoicing: InvoicingServices, message: CapturedPayments) -> None:
    """Draft tax invoices for captured payments (set-based); auto-issue token purchases."""
    await invoicing.drafting.captured(message.payment_ids)


async def credit_note(invoicing: InvoicingServices, event: PaymentRefunded) -> None:
    """Draft a credit note for the newly refunded amount against the ISSUED invoice."""
    await invoicing.drafting.refunded(event)


async def render_and_email(invoicing: InvoicingServices, message: InvoiceRef) -> None:
    """Render the PDF once, store it, mail it attached (once per invoice)."""
    await invoicing.documents.render_and_email(message.invoice_id)


async def on_captured(invoicing: InvoicingServices, event: PaymentsCaptured) -> None:
    if event.payment_ids:
        await invoicing.jobs.submit(DRAFT_INVOICES, CapturedPayments(payment_ids=event.payment_ids))


async def on_refunded(invoicing: InvoicingServices, event: PaymentRefunded) -> None:
    await invoicing.jobs.submit(CREDIT_NOTE, event)


async def on_issued(invoicing: InvoicingServices, event: InvoicesIssued) -> None:
    for invoice_id in event.invoice_ids:
        await invoicing.jobs.submit(RENDER_AND_EMAIL, InvoiceRef(invoice_id=invoice_id))
