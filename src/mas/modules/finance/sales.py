"""The finance manifest's sales part: discount requests and the pipeline cost ledger, their
tables, repositories, routes, and how the services are built. The LMS's batch fees and Mr.
Hire's job owners are ports with empty defaults until those domains exist."""

from __future__ import annotations

from typing import Any

from mas.adapters.db.finance.sales import (
    SqlCostLedgerRepository,
    SqlDiscountRepository,
    SqlSalesTeamRoster,
)
from mas.core.finance.audit import AuditServices
from mas.core.finance.sales import SalesPorts, SalesServices, build_sales
from mas.modules.container import Container

TABLES: list[str] = ["mas.adapters.db.finance.sales_tables"]
REPOSITORIES: dict[str, Any] = {
    "discount_requests": SqlDiscountRepository,
    "pipeline_cost_ledger": SqlCostLedgerRepository,
    "sales_team_roster": SqlSalesTeamRoster,
}
CONTROLLERS: list[str] = [
    "mas.http.finance.sales:SalesDiscountController",
    "mas.http.finance.sales:AdminDiscountController",
    "mas.http.finance.sales:EffectivePriceController",
    "mas.http.finance.sales:JobCostController",
    "mas.http.finance.sales:AdminCostController",
]
MAIL_TEMPLATES: dict[str, Any] = {}


def build(c: Container, audit: AuditServices) -> SalesServices:
    del audit  # discount decisions and costs are not GST records (no audit entity)
    return build_sales(SalesPorts(uow=c.uow, clock=c.clock))
