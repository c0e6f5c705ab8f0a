"""Invoices the system drafts by itself (payments-finance.md §6 ``finance.draft_invoice``,
``finance.credit_note_on_refund``).

Captured payments arrive a sync page at a time (``PaymentsCaptured``, up to 1,000 ids): they are
drafted in chunks, each chunk one transaction with one multi-row INSERT that skips payments
already invoiced, so a redelivered event or a second sync writes nothing twice. Token purchases
are issued in the same transaction when ``MAS_AUTO_ISSUE_TOKEN_INVOICES`` is on (one counter
step per chunk). A refund drafts a credit note for the newly refunded amount against the ISSUED
tax invoice, unique per (invoice, refund).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from mas.core.finance.audit.model import AuditAction
from mas.core.finance.audit.trail import AuditTrail
from mas.core.finance.invoicing import invoice as records
from mas.core.finance.invoicing.desk import assign_numbers, audit_invoice, invoice_entry
from mas.core.finance.invoicing.invoice import GstInvoice
from mas.core.finance.invoicing.model import InvoiceStatus, Supplier, capture_day, rate_on
from mas.core.finance.invoicing.ports import InvoicingUnitOfWork, PaymentReaderOf
from mas.core.finance.invoicing.states import DEFAULT_SAC
from mas.core.finance.payments.events import PaymentRefunded
from mas.core.finance.payments.mirror import PaymentSource
from mas.core.finance.payments.model import MirroredPayment
from mas.core.platform.errors import ValidationFailed
from mas.core.platform.ids import uuid7
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.payments import PaymentStatus

log = logging.getLogger("mas.finance.invoicing")

CHUNK = 250


@dataclass(frozen=True)
class DraftingPorts:
    uow: Callable[[], InvoicingUnitOfWork]
    clock: Clock
    trail: AuditTrail
    payments: PaymentReaderOf
    supplier: Supplier | None
    auto_issue_token_invoices: bool


class AutoDrafting:
    def __init__(self, ports: DraftingPorts) -> None:
        self._p = ports

    async def captured(self, payment_ids: list[uuid.UUID]) -> list[GstInvoice]:
        """Draft (and for token purchases issue) the tax invoices of captured payments; answers
        the invoices written. Payments stay mirrored when the supplier GSTIN is unset."""
        if self._p.supplier is None:
            log.warning(
                "finance.invoice_drafting_pending_config", extra={"payments": len(payment_ids)}
            )
            return []
        written: list[GstInvoice] = []
        unique = list(dict.fromkeys(payment_ids))
        for start in range(0, len(unique), CHUNK):
            written.extend(await self._chunk(self._p.supplier, unique[start : start + CHUNK]))
        return written

    async def _chunk(self, supplier: Supplier, ids: list[uuid.UUID]) -> list[GstInvoice]:
        async with self._p.uow() as uow:
            payments = {
                p.id: p
                for p in await self._p.payments(uow).many(ids)
                if p.gateway_status is PaymentStatus.CAPTURED
            }
            existing = await uow.gst_invoices.tax_invoices_of(list(payments))
            invoiced = {i.global_payment_id for i in existing}
            rates = await uow.gst_masters.rates(DEFAULT_SAC)
            states = await uow.gst_masters.states()
            now = self._p.clock.now()
            drafts = []
            for payment in payments.values():
                if payment.id in invoiced:
                    continue
                try:
                    rate = rate_on(
                        rates, DEFAULT_SAC, capture_day(payment.captured_at or payment.created_at)
                    )
                except ValidationFailed:
                    log.error(
                        "finance.invoice_no_rate",
                        extra={"payment_id": str(payment.id), "code": DEFAULT_SAC},
                    )
                    continue
                drafts.append(
                    records.draft_for_payment(uuid7(), payment, supplier, rate, states, now)
                )
            created = await uow.gst_invoices.add_drafts(drafts)
            issued: list[GstInvoice] = []
            if self._p.auto_issue_token_invoices:
                issued = await self._issue_tokens(uow, created, existing, payments)
            after_issue = {i.id: i for i in issued}
            drafted = {c.id: c for c in created}
            entries = [invoice_entry(AuditAction.CREATED, None, None, d) for d in created]
            entries += [
                invoice_entry(AuditAction.ISSUED, None, drafted.get(done.id, done), done)
                for done in issued
            ]
            await self._p.trail.append_many(uow, entries)  # one head step for the chunk
            await uow.commit()
        log.info(
            "finance.invoices_drafted",
            extra={"payments": len(ids), "drafted": len(created), "issued": len(issued)},
        )
        return [after_issue.get(d.id, d) for d in created]

    async def _issue_tokens(
        self,
        uow: InvoicingUnitOfWork,
        created: list[GstInvoice],
        existing: list[GstInvoice],
        payments: dict[uuid.UUID, MirroredPayment],
    ) -> list[GstInvoice]:
        def is_token(invoice: GstInvoice) -> bool:
            payment = payments.get(invoice.global_payment_id)
            return payment is not None and payment.source is PaymentSource.TOKEN_PURCHASE

        ready = [d for d in created if is_token(d)]
        # A redelivered event finds its drafts written but maybe not issued: issue them now.
        for draft in existing:
            if draft.status is InvoiceStatus.DRAFT and is_token(draft):
                locked = await uow.gst_invoices.get(draft.id, lock=True)
                if locked is not None and locked.status is InvoiceStatus.DRAFT:
                    ready.append(locked)
        return await assign_numbers(uow, ready, None, self._p.clock.now()) if ready else []

    async def refunded(self, event: PaymentRefunded) -> GstInvoice | None:
        """A credit-note draft for the newly refunded amount, against the payment's ISSUED tax
        invoice; None when there is nothing to credit or it was drafted before."""
        amount = event.refunded_paise - event.previously_refunded_paise
        if amount <= 0:
            return None
        refund_key = event.refund_id or f"refunded:{event.refunded_paise}"
        async with self._p.uow() as uow:
            original = await uow.gst_invoices.tax_invoice_of(event.payment_id)
            if original is None or original.status is not InvoiceStatus.ISSUED:
                log.info(
                    "finance.refund_not_credited",
                    extra={
                        "payment_id": str(event.payment_id),
                        "invoice_status": original.status.value if original else None,
                    },
                )
                return None
            owed = min(
                amount, original.total_paise - await uow.gst_invoices.credited_paise(original.id)
            )
            if owed <= 0:
                return None
            note = records.draft_credit_note(
                uuid7(),
                original,
                owed,
                refund_key,
                await uow.gst_masters.states(),
                self._p.clock.now(),
            )
            inserted = await uow.gst_invoices.add_drafts([note])
            if not inserted:
                return None
            await audit_invoice(self._p.trail, uow, AuditAction.CREATED, None, None, note)
            await uow.commit()
        return note
