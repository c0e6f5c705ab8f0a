"""Finance reports (payments-finance.md §5): the GSTR-1 summary of an IST month, revenue over a
period by day or by source, and the portal's dashboard figures. FINANCE and ADMIN; read-only."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from litestar import get
from litestar.params import QueryParameter

from mas.core.finance.reports.model import (
    MONTH_PATTERN,
    Dashboard,
    GroupBy,
    Gstr1Report,
    RevenueReport,
)
from mas.http.finance import Finance, FinanceController

RANGE_RULES = {"bad_range": "from ≤ to, at most 366 days, between 2000-01-01 and 2099-12-31"}
Month = Annotated[
    str,
    QueryParameter(
        min_length=7, max_length=7, pattern=MONTH_PATTERN, description="YYYY-MM (an IST month)"
    ),
]
From = Annotated[date, QueryParameter(name="from", description="first IST day (inclusive)")]
To = Annotated[date, QueryParameter(name="to", description="last IST day (inclusive)")]
Grouping = Annotated[GroupBy, QueryParameter(name="groupBy", description="day or source")]


class ReportsController(FinanceController):
    path = "/api/finance"
    tags = ["finance"]
    opt = {"policy": "finance"}

    @get(
        "/reports/gstr1",
        operation_id="financeGstr1",
        summary="GSTR-1 summary of a month: B2B, B2C by place of supply and rate, HSN, notes",
    )
    async def gstr1(self, finance: Finance, month: Month) -> Gstr1Report:
        return await finance.reports.reports.gstr1(month)

    @get(
        "/reports/revenue",
        operation_id="financeRevenue",
        summary="Gross, tax, refunds and net revenue over a period, by day or by source",
        opt={"rules": RANGE_RULES},
    )
    async def revenue(
        self, finance: Finance, from_: From, to: To, group_by: Grouping = GroupBy.DAY
    ) -> RevenueReport:
        return await finance.reports.reports.revenue(from_, to, group_by)

    @get(
        "/dashboard",
        operation_id="financeDashboard",
        summary="Today's and this month's revenue and what waits for the finance team",
    )
    async def dashboard(self, finance: Finance) -> Dashboard:
        return await finance.reports.reports.dashboard()
