"""The finance team (payments-finance.md §5 ``/api/finance/team``): FINANCE and ADMIN list it;
ADMIN adds a FINANCE account (its password goes out by email) or takes the role away (the
account stays, as a USER). Both writes go through identity's account administration, which
audits them and revokes the account's tokens on a role change."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec
from litestar import delete, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from mas.core.finance.reports.model import TeamMember
from mas.core.platform.bounds import EmailAddress
from mas.core.platform.paging import Page, PageRequest
from mas.http.finance import Finance, FinanceController
from mas.http.params import CallerDep, PageNo, PageSize

Search = Annotated[str | None, QueryParameter(max_length=100, description="in email or name")]
ADD_RULES = {
    "email_taken": "no account has this email yet",
    "impersonated": "an impersonation session cannot change the team",
}
ADD_STATUS = {"email_taken": 409, "impersonated": 403}


class NewFinanceUser(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    email: EmailAddress
    full_name: Annotated[str, msgspec.Meta(max_length=255)] | None = None


class TeamController(FinanceController):
    path = "/api/finance/team"
    tags = ["finance"]

    @get(
        "",
        operation_id="financeTeam",
        summary="The FINANCE accounts",
        opt={"policy": "finance"},
    )
    async def members(
        self, finance: Finance, search: Search = None, page: PageNo = 1, page_size: PageSize = 20
    ) -> Page[TeamMember]:
        return await finance.reports.team.members(search, PageRequest(page, page_size))

    @post(
        "",
        operation_id="financeAddTeamMember",
        summary="Create a FINANCE account; its password goes out by email",
        status_code=201,
        opt={"policy": "admin", "rules": ADD_RULES, "rules_status": ADD_STATUS},
    )
    async def add(
        self, finance: Finance, caller: CallerDep, data: JSONBody[NewFinanceUser]
    ) -> TeamMember:
        return await finance.reports.team.add(caller, data.email, data.full_name)

    @delete(
        "/{user_id:uuid}",
        operation_id="financeRemoveTeamMember",
        summary="Take the FINANCE role away (the account becomes a USER)",
        status_code=200,
        opt={
            "policy": "admin",
            "rules": {"impersonated": ADD_RULES["impersonated"]},
            "rules_status": 403,
        },
    )
    async def remove(
        self, finance: Finance, caller: CallerDep, user_id: FromPath[uuid.UUID]
    ) -> TeamMember:
        return await finance.reports.team.remove(caller, user_id)
