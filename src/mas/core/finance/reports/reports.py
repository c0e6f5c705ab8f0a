"""GSTR-1, revenue and the dashboard (payments-finance.md §5): read-only, over the payment
mirror and the invoices through the part's ``ReportSource``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from mas.core.finance.reports import gstr1, revenue
from mas.core.finance.reports.model import (
    Dashboard,
    GroupBy,
    Gstr1Report,
    RevenueReport,
    RevenueRow,
    ist_day,
    month_period,
    period,
)
from mas.core.finance.reports.ports import ReportsUnitOfWork
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import UnitOfWorkFactory


class Reports:
    def __init__(self, uow: UnitOfWorkFactory[ReportsUnitOfWork], clock: Clock) -> None:
        self._uow: Callable[[], ReportsUnitOfWork] = uow
        self._clock = clock

    async def gstr1(self, month: str) -> Gstr1Report:
        covered = month_period(month)
        async with self._uow() as uow:
            lines = await uow.finance_reports.invoice_lines(covered)
        return gstr1.summarize(covered, lines)

    async def revenue(self, first: date, last: date, group_by: GroupBy) -> RevenueReport:
        covered = period(first, last)
        async with self._uow() as uow:
            payments = await uow.finance_reports.payment_lines(covered, captured_only=True)
        return revenue.summarize(covered, group_by, payments)

    async def dashboard(self) -> Dashboard:
        now = self._clock.now()
        today = ist_day(now)
        month = period(today.replace(day=1), today)
        async with self._uow() as uow:
            payments = await uow.finance_reports.payment_lines(month, captured_only=True)
            unmatched, drafts = await uow.finance_reports.counts()
            ready = await uow.finance_exports.count_ready(now)
        by_day = revenue.summarize(month, GroupBy.DAY, payments)
        todays = next(
            (row for row in by_day.rows if row.key == today.isoformat()),
            RevenueRow(key=today.isoformat()),
        )
        return Dashboard(
            today=todays,
            month_to_date=by_day.totals,
            unmatched_payments=unmatched,
            draft_invoices=drafts,
            exports_ready=ready,
        )
