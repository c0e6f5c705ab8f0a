"""The finance domain's services, as the platform builds them once per process."""

from __future__ import annotations

from dataclasses import dataclass

from mas.core.finance.audit import AuditServices
from mas.core.finance.invoicing import InvoicingServices
from mas.core.finance.payments import PaymentServices
from mas.core.finance.reports import ReportServices
from mas.core.finance.sales import SalesServices


@dataclass(frozen=True)
class FinanceServices:
    payments: PaymentServices
    invoicing: InvoicingServices
    audit: AuditServices
    reports: ReportServices
    sales: SalesServices
