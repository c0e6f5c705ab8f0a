"""The finance manifest: the payment mirror, GST invoicing, the audit chain, reports and
exports, discount requests and the pipeline cost ledger (payments-finance.md).

Split by part like communications' (``payments``, ``invoicing``, ``audit``, ``reports``,
``sales``). Listed after
tokens and mentorship: it mirrors the payments token purchases take (the platform's
``GatewayPaymentSeen`` event) and reads no other domain's tables. Every part writes its GST
audit rows through the audit part's ``trail`` in its own unit of work.
"""

from __future__ import annotations

from mas.core.finance.handlers import CRONS, HANDLERS, SUBSCRIPTIONS
from mas.core.finance.services import FinanceServices
from mas.modules.base import Module
from mas.modules.container import Container
from mas.modules.finance import audit, invoicing, payments, reports, sales

PARTS = (audit, payments, invoicing, reports, sales)


def build(c: Container) -> FinanceServices:
    audit_services = audit.build(c)
    return FinanceServices(
        audit=audit_services,
        payments=payments.build(c, audit_services),
        invoicing=invoicing.build(c, audit_services),
        reports=reports.build(c, audit_services),
        sales=sales.build(c, audit_services),
    )


MODULE = Module(
    name="finance",
    services=FinanceServices,
    build=build,
    tables=[ref for part in PARTS for ref in part.TABLES],
    repositories={name: repo for part in PARTS for name, repo in part.REPOSITORIES.items()},
    handlers=HANDLERS,
    crons=CRONS,
    subscriptions=SUBSCRIPTIONS,
    controllers=[ref for part in PARTS for ref in part.CONTROLLERS],
    mail_templates={name: t for part in PARTS for name, t in part.MAIL_TEMPLATES.items()},
    cli={"finance": "mas.cli.finance:app"},
)
