"""Finance: the payments part — the payment mirror: gateway payments synced, matched and ignored
(payments-finance.md §3 GlobalPayment, §4, §6 sync, §8). Built by its manifest part,
``mas.modules.finance.payments``.

Every payment reaches the mirror through ``PaymentMirror`` (one set-based upsert): the sync
job's pages, and the platform's ``GatewayPaymentSeen`` that the tokens domain records when a
checkout's verify, a webhook or its reconcile sweep sees a payment. Token purchases are read
through the tokens domain's public ``PurchaseDirectory`` (``TokenPurchaseLookup``), never its
tables; whether a payment has an ISSUED invoice is the invoicing part's ``InvoiceState``
(``NoInvoices`` until it wires its own).

Exports the part's services (``PaymentServices``), what builds them (``PaymentPorts``,
``build_payments``) and its tasks (``HANDLERS``, ``CRONS``, ``SUBSCRIPTIONS``: handlers take
the part's services; ``mas.core.finance.handlers`` binds them to the domain's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mas.core.finance.audit import AuditTrail
from mas.core.finance.payments import tasks
from mas.core.finance.payments.desk import PaymentDesk
from mas.core.finance.payments.mirroring import PaymentMirror
from mas.core.finance.payments.ports import (
    InvoiceState,
    NoInvoices,
    PaymentsUnitOfWork,
    TokenPurchaseLookup,
)
from mas.core.finance.payments.sync import Gateway, PaymentSync
from mas.core.platform.events import Subscription
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.payments import GatewayPaymentSeen
from mas.core.platform.ports.tasks import Enqueuer
from mas.core.platform.ports.uow import UnitOfWorkFactory
from mas.core.platform.tasking import Handler, Task


@dataclass(frozen=True)
class PaymentPorts:
    uow: UnitOfWorkFactory[PaymentsUnitOfWork]
    clock: Clock
    trail: AuditTrail
    jobs: Enqueuer
    gateway: Gateway
    """The gateway as configured now (None without Razorpay keys)."""
    purchases: TokenPurchaseLookup
    invoices: InvoiceState = field(default_factory=NoInvoices)


@dataclass(frozen=True)
class PaymentServices:
    mirror: PaymentMirror
    sync: PaymentSync
    desk: PaymentDesk
    gateway: Gateway
    jobs: Enqueuer


def build_payments(ports: PaymentPorts) -> PaymentServices:
    mirror = PaymentMirror(uow=ports.uow, clock=ports.clock, purchases=ports.purchases)
    sync = PaymentSync(uow=ports.uow, clock=ports.clock, gateway=ports.gateway, mirror=mirror)
    desk = PaymentDesk(
        uow=ports.uow,
        clock=ports.clock,
        trail=ports.trail,
        sync=sync,
        jobs=ports.jobs,
        purchases=ports.purchases,
        invoices=ports.invoices,
    )
    return PaymentServices(
        mirror=mirror, sync=sync, desk=desk, gateway=ports.gateway, jobs=ports.jobs
    )


HANDLERS: Sequence[Handler[PaymentServices, Any]] = (
    Handler(tasks.SYNC, tasks.sync_global_payments),
    Handler(tasks.MIRROR_PAYMENT, tasks.mirror_payment),
)
CRONS: Mapping[Task[Any], str] = {tasks.SYNC: "*/30 * * * *"}
SUBSCRIPTIONS: Sequence[Subscription[PaymentServices, Any]] = (
    Subscription(GatewayPaymentSeen, tasks.on_payment_seen),
)
