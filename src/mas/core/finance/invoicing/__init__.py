"""Finance: the invoicing part — GST invoices and credit notes, the HSN/SAC and state-code masters,
numbering, PDFs and their mails. Built by its manifest part,
``mas.modules.finance.invoicing``.

Exports the part's services (``InvoicingServices``), what builds them (``InvoicingPorts``,
``build_invoicing``) and its tasks (``HANDLERS``, ``CRONS``, ``SUBSCRIPTIONS``: handlers take
the part's services; ``mas.core.finance.handlers`` binds them to the domain's).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mas.core.finance.audit import AuditServices
from mas.core.finance.invoicing import tasks
from mas.core.finance.invoicing.desk import DeskPorts, InvoiceDesk, supplier_of
from mas.core.finance.invoicing.documents import DocumentPorts, InvoiceDocuments
from mas.core.finance.invoicing.drafting import AutoDrafting, DraftingPorts
from mas.core.finance.invoicing.events import InvoicesIssued
from mas.core.finance.invoicing.masters import GstMasters
from mas.core.finance.invoicing.ports import (
    InvoicePdfRenderer,
    InvoicingUnitOfWork,
    PaymentReaderOf,
)
from mas.core.finance.payments.events import PaymentRefunded, PaymentsCaptured
from mas.core.platform.events import Subscription
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.messenger import Messenger
from mas.core.platform.ports.storage import Storage
from mas.core.platform.ports.tasks import Enqueuer
from mas.core.platform.tasking import Handler, Task


@dataclass(frozen=True)
class InvoicingPorts:
    uow: Callable[[], InvoicingUnitOfWork]
    clock: Clock
    audit: AuditServices
    payments: PaymentReaderOf
    storage: Storage
    messenger: Messenger
    renderer: InvoicePdfRenderer
    jobs: Enqueuer
    supplier_gstin: str
    supplier_name: str
    auto_issue_token_invoices: bool = True


@dataclass(frozen=True)
class InvoicingServices:
    desk: InvoiceDesk
    masters: GstMasters
    drafting: AutoDrafting
    documents: InvoiceDocuments
    jobs: Enqueuer


def build_invoicing(ports: InvoicingPorts) -> InvoicingServices:
    trail = ports.audit.trail
    supplier = supplier_of(ports.supplier_gstin)
    return InvoicingServices(
        desk=InvoiceDesk(DeskPorts(ports.uow, ports.clock, trail, ports.payments, supplier)),
        masters=GstMasters(ports.uow, ports.clock, trail),
        drafting=AutoDrafting(
            DraftingPorts(
                ports.uow,
                ports.clock,
                trail,
                ports.payments,
                supplier,
                ports.auto_issue_token_invoices,
            )
        ),
        documents=InvoiceDocuments(
            DocumentPorts(
                ports.uow,
                ports.clock,
                trail,
                ports.payments,
                ports.storage,
                ports.messenger,
                ports.renderer,
                ports.supplier_name,
            )
        ),
        jobs=ports.jobs,
    )


HANDLERS: Sequence[Handler[InvoicingServices, Any]] = (
    Handler(tasks.DRAFT_INVOICES, tasks.draft_invoices),
    Handler(tasks.CREDIT_NOTE, tasks.credit_note),
    Handler(tasks.RENDER_AND_EMAIL, tasks.render_and_email),
)
CRONS: Mapping[Task[Any], str] = {}
SUBSCRIPTIONS: Sequence[Subscription[InvoicingServices, Any]] = (
    Subscription(PaymentsCaptured, tasks.on_captured),
    Subscription(PaymentRefunded, tasks.on_refunded),
    Subscription(InvoicesIssued, tasks.on_issued),
)
