"""The invoicing part's events: issued invoices get their PDF rendered and mailed after the
commit (``finance.render_and_email_invoice``)."""

from __future__ import annotations

import uuid

from mas.core.platform.events import DomainEvent


class InvoicesIssued(DomainEvent, frozen=True, kw_only=True):
    subject = "mas.finance.invoices_issued"
    invoice_ids: list[uuid.UUID]
