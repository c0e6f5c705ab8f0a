"""The finance manifest's reports part: its tables, repositories, controllers and how its
services are built from the container.

Besides its own table and read port, the part takes three things from outside finance, each
adapted here to a port of its own: the installation's secret box (communications' AES-GCM box,
keyed by ``encryption_key``, else the JWT secret) seals export passwords; mentor payouts are
read through the tokens domain's public earnings services (``c.tokens.earnings``, never its
tables); the finance team is managed through identity's account administration
(``c.identity.accounts``: create, role change, both audited by identity). Tokens and identity
are listed before finance in ``MODULES``, so their services exist when this part is built.
"""

from __future__ import annotations

import uuid
from typing import Any

from mas.adapters.db.finance.exports import SqlExportRepository
from mas.adapters.db.finance.reports import SqlReportSource
from mas.adapters.workbook.xlsx import XlsxZipPacker
from mas.core.finance.audit import AuditServices
from mas.core.finance.reports import ReportPorts, ReportServices, build_reports
from mas.core.finance.reports.model import PayoutLine, Period, TeamMember
from mas.core.identity.accounts import AccountAdmin
from mas.core.identity.model import User
from mas.core.identity.policy import Caller, Role
from mas.core.platform.errors import NotFound
from mas.core.platform.paging import MAX_PAGE, MAX_PAGE_SIZE, Page, PageRequest
from mas.core.tokens.earnings.model import TxnStatus
from mas.core.tokens.earnings.withdrawals import Withdrawals
from mas.modules.container import Container

TABLES: list[str] = ["mas.adapters.db.finance.exports_tables"]
REPOSITORIES: dict[str, Any] = {
    "finance_exports": SqlExportRepository,
    "finance_reports": SqlReportSource,
}
CONTROLLERS: list[str] = [
    "mas.http.finance.reports:ReportsController",
    "mas.http.finance.exports:ExportsController",
    "mas.http.finance.team:TeamController",
]
MAIL_TEMPLATES: dict[str, Any] = {}


class TokensPayouts:
    """Completed mentor withdrawals, paged through the earnings part's public reads."""

    def __init__(self, withdrawals: Withdrawals) -> None:
        self._withdrawals = withdrawals

    async def completed(self, period: Period) -> list[PayoutLine]:
        found: list[PayoutLine] = []
        for number in range(1, MAX_PAGE + 1):
            page = await self._withdrawals.requests(
                TxnStatus.COMPLETED, PageRequest(number, MAX_PAGE_SIZE)
            )
            for txn in page.items:
                done = txn.completed_at
                if done is None or not period.start <= done < period.end:
                    continue
                found.append(
                    PayoutLine(
                        id=txn.id,
                        mentor_id=txn.mentor_id,
                        mentor_email=txn.mentor_email,
                        amount_paise=-txn.amount_paise,
                        status=txn.status.value if txn.status else "completed",
                        payout_mode=txn.payout_mode.value if txn.payout_mode else None,
                        reference=txn.transaction_id or txn.razorpay_payout_id,
                        requested_at=txn.created_at,
                        completed_at=done,
                    )
                )
            if number * MAX_PAGE_SIZE >= page.total:
                break
        found.sort(key=lambda line: (line.completed_at or line.requested_at, line.id))
        return found


def _member(user: User) -> TeamMember:
    return TeamMember(
        id=user.id,
        email=user.email,
        full_name=user.full_name,
        role=user.role.value,
        blocked=user.is_blocked,
        created_at=user.created_at,
    )


class IdentityFinanceTeam:
    """The FINANCE accounts through identity's account administration."""

    def __init__(self, accounts: AccountAdmin) -> None:
        self._accounts = accounts

    async def members(self, search: str | None, req: PageRequest) -> Page[TeamMember]:
        found = await self._accounts.page([Role.FINANCE], search, req)
        return Page(
            items=[_member(u) for u in found.items],
            total=found.total,
            page=found.page,
            page_size=found.page_size,
        )

    async def add(self, actor: Caller, email: str, full_name: str | None) -> TeamMember:
        created = await self._accounts.create(actor, email, Role.FINANCE, full_name, None)
        return _member(created.user)

    async def remove(self, actor: Caller, user_id: uuid.UUID) -> TeamMember:
        user = await self._accounts.get(user_id)
        if user.role is not Role.FINANCE:
            raise NotFound("this account is not on the finance team")
        return _member(await self._accounts.change_role(actor, user_id, Role.USER, False))


def build(c: Container, audit: AuditServices) -> ReportServices:
    return build_reports(
        ReportPorts(
            uow=c.uow,
            clock=c.clock,
            trail=audit.trail,
            jobs=c.jobs,
            storage=c.storage,
            packer=XlsxZipPacker(),
            box=c.secret_box,
            payouts=TokensPayouts(c.tokens.earnings.withdrawals),
            team=IdentityFinanceTeam(c.identity.accounts),
        )
    )
