"""FINANCE's invoice desk (payments-finance.md §4 GstInvoice, §5 invoice routes, §8).

Every change is one unit of work that writes the invoice and exactly one audit row per invoice
it touches. Locks are always taken in one order — the invoice rows, then the sequence row, then
the audit chain's head — so issuers, cancellers and the drafting batches never deadlock: the
audit rows of a use case are appended last.

Issuing takes the invoice's row lock, then the (financial year, kind) counter's; the status
write is a compare-and-set as well, so two issuers of one draft give one number and one
ISSUED, and a rolled-back issue gives its number back with its transaction (gapless).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby

import msgspec

from mas.core.finance.audit.model import AuditAction, AuditEntity, AuditEntry
from mas.core.finance.audit.trail import AuditTrail
from mas.core.finance.invoicing import invoice as records
from mas.core.finance.invoicing.events import InvoicesIssued
from mas.core.finance.invoicing.invoice import GstInvoice
from mas.core.finance.invoicing.model import (
    PREFIX,
    Customer,
    InvoiceStatus,
    Supplier,
    capture_day,
    check_customer,
    check_move,
    rate_on,
)
from mas.core.finance.invoicing.numbers import financial_year, format_number
from mas.core.finance.invoicing.ports import (
    InvoiceFilter,
    InvoicingUnitOfWork,
    PaymentReaderOf,
)
from mas.core.finance.invoicing.states import DEFAULT_SAC
from mas.core.finance.payments.model import MirroredPayment
from mas.core.identity.policy import Caller
from mas.core.platform.emails import check_email
from mas.core.platform.errors import Conflict, Forbidden, NotConfigured, NotFound
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.payments import PaymentStatus


@dataclass(frozen=True)
class DeskPorts:
    uow: Callable[[], InvoicingUnitOfWork]
    clock: Clock
    trail: AuditTrail
    payments: PaymentReaderOf
    supplier: Supplier | None
    """From ``MAS_SUPPLIER_GSTIN`` (state = its first two digits); None: drafting and issuing
    answer 503 ``integration_not_configured``."""


def supplier_of(gstin: str) -> Supplier | None:
    gstin = gstin.strip().upper()
    return Supplier(gstin=gstin, state_code=gstin[:2]) if gstin else None


def refuse_impersonation(caller: Caller) -> None:
    """Identity's rule for finance: an impersonation session reads but never writes here."""
    if caller.impersonated_by is not None:
        raise Forbidden(
            "finance actions are refused while impersonating", code="impersonation_refused"
        )


def not_found() -> NotFound:
    return NotFound("no such invoice", code="invoice_not_found")


def not_captured(payment: MirroredPayment) -> Conflict:
    return Conflict(
        f"the payment is '{payment.gateway_status.value}', not captured",
        code="payment_not_captured",
    )


def invoice_entry(
    action: AuditAction, actor: uuid.UUID | None, before: GstInvoice | None, after: GstInvoice
) -> AuditEntry:
    return AuditEntry(
        entity_type=AuditEntity.INVOICE,
        entity_id=str(after.id),
        action=action,
        actor_id=actor,
        before=before.snapshot() if before is not None else None,
        after=after.snapshot(),
    )


async def audit_invoice(
    trail: AuditTrail,
    uow: InvoicingUnitOfWork,
    action: AuditAction,
    actor: uuid.UUID | None,
    before: GstInvoice | None,
    after: GstInvoice,
) -> None:
    await trail.append(uow, invoice_entry(action, actor, before, after))


async def assign_numbers(
    uow: InvoicingUnitOfWork, drafts: list[GstInvoice], actor: uuid.UUID | None, now: datetime
) -> list[GstInvoice]:
    """Issue locked DRAFT invoices: one counter step per (year, kind), one CAS per invoice.
    Records ``InvoicesIssued``; the caller appends the audit rows (last, see the module)."""
    year = financial_year(now)
    issued: list[GstInvoice] = []
    for kind, group in groupby(sorted(drafts, key=lambda d: (d.kind, d.id)), key=lambda d: d.kind):
        batch = list(group)
        last = await uow.invoice_sequences.take(year, kind, len(batch))
        for offset, draft in enumerate(batch):
            check_move(draft.status, InvoiceStatus.ISSUED)
            done = msgspec.structs.replace(
                draft,
                status=InvoiceStatus.ISSUED,
                invoice_number=format_number(PREFIX[kind], year, last - len(batch) + 1 + offset),
                financial_year=year,
                issued_at=now,
                issued_by=actor,
                updated_at=now,
            )
            if not await uow.gst_invoices.save(done, InvoiceStatus.DRAFT):
                raise Conflict("the invoice changed meanwhile; reload it", code="invoice_changed")
            issued.append(msgspec.structs.replace(done, version=draft.version + 1))
    if issued:
        uow.record(InvoicesIssued(invoice_ids=[i.id for i in issued]))
    return issued


class InvoiceDesk:
    def __init__(self, ports: DeskPorts) -> None:
        self._p = ports

    def _supplier(self) -> Supplier:
        if self._p.supplier is None:
            raise NotConfigured("GST invoicing (MAS_SUPPLIER_GSTIN)")
        return self._p.supplier

    async def draft(self, caller: Caller, payment_id: uuid.UUID) -> GstInvoice:
        refuse_impersonation(caller)
        async with self._p.uow() as uow:
            payment = await self._p.payments(uow).get(payment_id)
            if payment is None:
                raise NotFound("no such payment", code="payment_not_found")
            supplier = self._supplier()
            if payment.gateway_status is not PaymentStatus.CAPTURED:
                raise not_captured(payment)
            if await uow.gst_invoices.tax_invoice_of(payment_id) is not None:
                raise Conflict("the payment already has a tax invoice", code="invoice_exists")
            rates = await uow.gst_masters.rates()
            captured = payment.captured_at or payment.created_at
            rate = rate_on(rates, DEFAULT_SAC, capture_day(captured))
            now = self._p.clock.now()
            draft = records.draft_for_payment(
                uuid7(), payment, supplier, rate, await uow.gst_masters.states(), now
            )
            if not await uow.gst_invoices.add_drafts([draft]):
                raise Conflict("the payment already has a tax invoice", code="invoice_exists")
            await audit_invoice(
                self._p.trail, uow, AuditAction.CREATED, caller.user_id, None, draft
            )
            await uow.commit()
        return draft

    async def edit(self, caller: Caller, invoice_id: uuid.UUID, customer: Customer) -> GstInvoice:
        refuse_impersonation(caller)
        async with self._p.uow() as uow:
            current = await self._locked(uow, invoice_id)
            if current.status is not InvoiceStatus.DRAFT:
                raise Conflict(
                    f"an {current.status.value} invoice cannot be edited", code="invoice_not_draft"
                )
            if customer.customer_email is not None:
                email = check_email(customer.customer_email, "customer_email")
                customer = msgspec.structs.replace(customer, customer_email=email)
            states = await uow.gst_masters.states()
            check_customer(customer, states)
            rate = rate_on(
                await uow.gst_masters.rates(customer.hsn_sac_code),
                customer.hsn_sac_code,
                capture_day(current.captured_at),
            )
            edited = records.with_customer(current, customer, rate, states, self._p.clock.now())
            await self._save(uow, edited, InvoiceStatus.DRAFT)
            await audit_invoice(
                self._p.trail, uow, AuditAction.UPDATED, caller.user_id, current, edited
            )
            await uow.commit()
        return msgspec.structs.replace(edited, version=current.version + 1)

    async def issue(self, caller: Caller, invoice_id: uuid.UUID) -> GstInvoice:
        refuse_impersonation(caller)
        async with self._p.uow() as uow:
            current = await self._locked(uow, invoice_id)
            self._supplier()
            check_move(current.status, InvoiceStatus.ISSUED)
            payment = await self._p.payments(uow).get(current.global_payment_id)
            if current.kind.value == "TAX_INVOICE" and (
                payment is None or payment.gateway_status is not PaymentStatus.CAPTURED
            ):
                if payment is None:
                    raise Conflict("the invoice's payment is not mirrored", code="payment_missing")
                raise not_captured(payment)
            [issued] = await assign_numbers(uow, [current], caller.user_id, self._p.clock.now())
            await audit_invoice(
                self._p.trail, uow, AuditAction.ISSUED, caller.user_id, current, issued
            )
            await uow.commit()
        return issued

    async def void(self, caller: Caller, invoice_id: uuid.UUID) -> GstInvoice:
        refuse_impersonation(caller)
        async with self._p.uow() as uow:
            current = await self._locked(uow, invoice_id)
            check_move(current.status, InvoiceStatus.VOID)
            voided = msgspec.structs.replace(
                current, status=InvoiceStatus.VOID, updated_at=self._p.clock.now()
            )
            await self._save(uow, voided, InvoiceStatus.DRAFT)
            await audit_invoice(
                self._p.trail, uow, AuditAction.VOIDED, caller.user_id, current, voided
            )
            await uow.commit()
        return msgspec.structs.replace(voided, version=current.version + 1)

    async def cancel(self, caller: Caller, invoice_id: uuid.UUID, reason: str) -> GstInvoice:
        """ISSUED → CANCELLED; the number stays used. Money already refunded and not yet
        credited gets a credit-note draft in the same transaction."""
        refuse_impersonation(caller)
        async with self._p.uow() as uow:
            current = await self._locked(uow, invoice_id)
            check_move(current.status, InvoiceStatus.CANCELLED)
            now = self._p.clock.now()
            cancelled = msgspec.structs.replace(
                current,
                status=InvoiceStatus.CANCELLED,
                cancelled_at=now,
                cancelled_by=caller.user_id,
                cancel_reason=reason.strip(),
                updated_at=now,
            )
            await self._save(uow, cancelled, InvoiceStatus.ISSUED)
            note = await self._credit_for_refunds(uow, current, now)
            await audit_invoice(
                self._p.trail, uow, AuditAction.CANCELLED, caller.user_id, current, cancelled
            )
            if note is not None:
                await audit_invoice(self._p.trail, uow, AuditAction.CREATED, None, None, note)
            await uow.commit()
        return msgspec.structs.replace(cancelled, version=current.version + 1)

    async def _credit_for_refunds(
        self, uow: InvoicingUnitOfWork, original: GstInvoice, now: datetime
    ) -> GstInvoice | None:
        if original.kind.value != "TAX_INVOICE":
            return None
        payment = await self._p.payments(uow).get(original.global_payment_id)
        if payment is None:
            return None
        owed = min(payment.amount_refunded_paise, original.total_paise)
        owed -= await uow.gst_invoices.credited_paise(original.id)
        if owed <= 0:
            return None
        note = records.draft_credit_note(
            uuid7(), original, owed, f"cancel:{original.id}", await uow.gst_masters.states(), now
        )
        inserted = await uow.gst_invoices.add_drafts([note])
        return inserted[0] if inserted else None

    async def get(self, invoice_id: uuid.UUID) -> GstInvoice:
        async with self._p.uow() as uow:
            found = await uow.gst_invoices.get(invoice_id)
        if found is None:
            raise not_found()
        return found

    async def page(self, flt: InvoiceFilter, req: PageRequest) -> Page[GstInvoice]:
        async with self._p.uow() as uow:
            return await uow.gst_invoices.page(flt, req)

    async def _locked(self, uow: InvoicingUnitOfWork, invoice_id: uuid.UUID) -> GstInvoice:
        found = await uow.gst_invoices.get(invoice_id, lock=True)
        if found is None:
            raise not_found()
        return found

    async def _save(
        self, uow: InvoicingUnitOfWork, invoice: GstInvoice, expected: InvoiceStatus
    ) -> None:
        if not await uow.gst_invoices.save(invoice, expected):
            raise Conflict("the invoice changed meanwhile; reload it", code="invoice_changed")
