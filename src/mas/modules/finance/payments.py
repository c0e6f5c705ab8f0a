"""The finance manifest's payments part: the payment mirror's tables, repositories and routes,
and how its services are built from the container.

The gateway is the tokens domain's (``c.tokens.purchases.gateway``, read per call so a test's
``install`` of another gateway is seen here too): Razorpay's keys unset, it is None and the
payment routes answer 503 while the sync job records ``pending_config``. Token purchases are
read through the tokens domain's public ``PurchaseDirectory``; whether a payment has an ISSUED
invoice is the invoicing part's ``IssuedInvoices`` (read in this part's unit of work).
"""

from __future__ import annotations

from typing import Any

from mas.adapters.db.finance.payments import SqlGlobalPayments, SqlPaymentSyncState
from mas.core.finance.audit import AuditServices
from mas.core.finance.invoicing.state import IssuedInvoices
from mas.core.finance.payments import PaymentPorts, PaymentServices, build_payments
from mas.core.platform.ports.payments import PaymentPort
from mas.modules.container import Container

TABLES: list[str] = ["mas.adapters.db.finance.payments_tables"]
REPOSITORIES: dict[str, Any] = {
    "global_payments": SqlGlobalPayments,
    "global_payment_sync": SqlPaymentSyncState,
}
CONTROLLERS: list[str] = ["mas.http.finance.payments:PaymentController"]
MAIL_TEMPLATES: dict[str, Any] = {}


def build(c: Container, audit: AuditServices) -> PaymentServices:
    def gateway() -> PaymentPort | None:
        found: PaymentPort | None = c.domains["tokens"].purchases.gateway
        return found

    return build_payments(
        PaymentPorts(
            uow=c.uow,
            clock=c.clock,
            trail=audit.trail,
            jobs=c.jobs,
            gateway=gateway,
            purchases=c.domains["tokens"].purchases.directory,
            invoices=IssuedInvoices(),
        )
    )
