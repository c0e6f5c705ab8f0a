"""What the payments part asks of invoices (``payments.ports.InvoiceState``): a payment's match
is final once its tax invoice is ISSUED. Read in the caller's unit of work — every finance
part's unit of work has every finance repository — so it needs no service of this part and
the payments part, built first, can hold it."""

from __future__ import annotations

import uuid
from typing import cast

from mas.core.finance.audit.ports import AuditUnitOfWork
from mas.core.finance.invoicing.model import InvoiceStatus
from mas.core.finance.invoicing.ports import InvoicingUnitOfWork
from mas.core.finance.payments.ports import InvoiceState


class IssuedInvoices:
    async def has_issued(self, uow: AuditUnitOfWork, payment_id: uuid.UUID) -> bool:
        found = await cast(InvoicingUnitOfWork, uow).gst_invoices.tax_invoice_of(payment_id)
        return found is not None and found.status is InvoiceStatus.ISSUED


def as_invoice_state(state: IssuedInvoices) -> InvoiceState:
    """mypy checks ``IssuedInvoices`` implements the payments part's port."""
    return state
