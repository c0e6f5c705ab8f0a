"""The finance team (payments-finance.md §5 ``/api/finance/team``): who holds the FINANCE role,
adding a FINANCE account and taking the role away, through identity's account administration
(the ``TeamDirectory`` port). Writes from an impersonation session are refused, as on every
finance write."""

from __future__ import annotations

import uuid

from mas.core.finance.reports.exports import refuse_impersonation
from mas.core.finance.reports.model import TeamMember
from mas.core.finance.reports.ports import TeamDirectory
from mas.core.identity.policy import Caller
from mas.core.platform.paging import Page, PageRequest


class FinanceTeam:
    def __init__(self, directory: TeamDirectory) -> None:
        self._directory = directory

    async def members(self, search: str | None, req: PageRequest) -> Page[TeamMember]:
        return await self._directory.members(search, req)

    async def add(self, actor: Caller, email: str, full_name: str | None) -> TeamMember:
        refuse_impersonation(actor)
        return await self._directory.add(actor, email, full_name)

    async def remove(self, actor: Caller, user_id: uuid.UUID) -> TeamMember:
        refuse_impersonation(actor)
        return await self._directory.remove(actor, user_id)
