"""Lead assignment, bulk requests and approvals, teams, targets and the leaderboard; the ADMIN
pages for sales-head profiles, team membership, ownership transfers and SystemConfig.

A head's route names the identity page permission in ``opt["page"]`` (the guard checks it);
the service then checks the matching CRM profile flag (403 ``page_disabled`` when off).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

import msgspec
from litestar import Response, get, patch, post, put
from litestar.enums import RequestEncodingType
from litestar.openapi import ResponseSpec
from litestar.params import Body, FromPath, JSONBody, PathParameter, QueryParameter

from mas.core.crm.approvals import RequestDetail
from mas.core.crm.assignment import AssignCommand, AssignOutcome, UnassignCommand
from mas.core.crm.assignment_model import (
    BulkRequest,
    BulkStrategy,
    OwnershipTransfer,
    RequestStatus,
    SalesHeadProfile,
    TeamMember,
)
from mas.core.crm.bulk_assignment import BulkCommand, BulkOutcome
from mas.core.crm.config import ConfigValue
from mas.core.crm.contact import NOT_BLANK
from mas.core.crm.targets import TargetLine, TodaySheet
from mas.core.crm.targets_model import DailyTarget, Standing, TargetInput
from mas.core.crm.teams import MemberChanges, NewMember, NewProfile, ProfileChanges, TeamLine
from mas.core.crm.transfers import TransferCommand
from mas.core.platform.paging import Page, PageRequest, page_of
from mas.http.crm import Crm, CrmController
from mas.http.params import CallerDep, PageNo, PageSize

HeadFilter = Annotated[
    uuid.UUID | None,
    QueryParameter(description="a sales head's pool or team (a head sees only their own)"),
]
From = Annotated[
    date | None, QueryParameter(name="from", description="first day (IST), default today")
]
To = Annotated[date | None, QueryParameter(description="last day (IST), default 'from'")]
ConfigKeyPath = Annotated[str, PathParameter(max_length=100, description="a SystemConfig key")]


class DecisionBody(msgspec.Struct, forbid_unknown_fields=True):
    decision_note: Annotated[str, msgspec.Meta(max_length=500)] | None = None


class RejectBody(msgspec.Struct, forbid_unknown_fields=True):
    decision_note: Annotated[str, msgspec.Meta(min_length=1, max_length=500, pattern=NOT_BLANK)]


class ConfigBody(msgspec.Struct, forbid_unknown_fields=True):
    value: Any


class TargetSheet(msgspec.Struct, forbid_unknown_fields=True):
    """An object around the rows, so a 422 names the row and field (``targets[3].date``)."""

    targets: Annotated[list[TargetInput], msgspec.Meta(min_length=1, max_length=2000)]


# Rules no schema keyword states (``opt["rules"]``, listed in the document as ``x-rules``).
MEMBER_RULES = {
    "not_in_team": "the assignee is an active member of the pool head's team",
    "inactive": "the assignee is still an active team member",
    "wrong_member_role": "SECOND_LINE goes to a COUNSELLOR",
}
HEAD_RULES = {"not_a_sales_head": "the user named as a sales head has the SALES_HEAD role"}
RANGE_RULES = {
    "range_reversed": "'to' is not before 'from'",
    "range_too_long": "a range covers at most 92 days",
    "date_out_of_range": "a day is between 2000-01-01 and 2999-12-31",
}
_IDS = {"type": "array", "items": {"type": "string", "format": "uuid"}}
# The two shapes of a bulk assignment, one per kind of strategy.
BULK_SHAPES: dict[str, Any] = {
    "oneOf": [
        {
            "properties": {
                "strategy": {"const": BulkStrategy.EXPLICIT.value},
                "explicit_map": {
                    "type": "object",
                    "minProperties": 1,
                    "propertyNames": {"type": "string", "format": "uuid"},
                },
                "lead_ids": {**_IDS, "maxItems": 0},
                "assignee_ids": {**_IDS, "maxItems": 0},
            },
            "required": ["explicit_map"],
        },
        {
            "properties": {
                "strategy": {
                    "enum": [s.value for s in BulkStrategy if s is not BulkStrategy.EXPLICIT]
                },
                "explicit_map": {"type": "null"},
                "lead_ids": {**_IDS, "minItems": 1},
                "assignee_ids": {**_IDS, "minItems": 1},
            },
            "required": ["lead_ids", "assignee_ids"],
        },
    ]
}
BulkBody = Annotated[
    BulkCommand, Body(media_type=RequestEncodingType.JSON, schema_extra=BULK_SHAPES)
]


class CrmAssignmentController(CrmController):
    path = "/api/crm"
    tags = ["crm: assignment"]
    opt = {"policy": "sales_head"}

    @post(
        "/leads/{lead_id:uuid}/assign",
        operation_id="assignLead",
        summary="Assign one slot of a lead to a team member (immediate)",
        status_code=200,
        opt={"page": "crm.assignment", "rules": MEMBER_RULES},
    )
    async def assign(
        self,
        crm: Crm,
        caller: CallerDep,
        lead_id: FromPath[uuid.UUID],
        data: JSONBody[AssignCommand],
    ) -> AssignOutcome:
        return await crm.assignment.assign(caller, lead_id, data.slot, data.assignee_id)

    @post(
        "/leads/{lead_id:uuid}/unassign",
        operation_id="unassignLead",
        summary="Empty one slot of a lead",
        status_code=200,
        opt={"page": "crm.assignment"},
    )
    async def unassign(
        self,
        crm: Crm,
        caller: CallerDep,
        lead_id: FromPath[uuid.UUID],
        data: JSONBody[UnassignCommand],
    ) -> AssignOutcome:
        return await crm.assignment.unassign(caller, lead_id, data.slot)

    @post(
        "/assignments/bulk",
        operation_id="bulkAssign",
        summary="Assign many leads: 200 when applied now, 202 when it waits for approval",
        opt={
            "page": "crm.assignment",
            "flag": "bulk_assign",
            "rules": {
                **HEAD_RULES,
                "not_in_team": "every assignee is an active member of the pool's team "
                "(a COUNSELLOR for SECOND_LINE)",
                "pool_head_required": "an ADMIN names the pool: pool_head_id",
                "leads_outside_pool": "every lead is live, not converted and in the pool",
            },
        },
        status_code=200,
        responses={202: ResponseSpec(BulkOutcome, description="waits for an ADMIN's approval")},
    )
    async def bulk(self, crm: Crm, caller: CallerDep, data: BulkBody) -> Response[BulkOutcome]:
        outcome = await crm.assignment.bulk(caller, data)
        return Response(outcome, status_code=200 if outcome.applied else 202)

    @get(
        "/assignment-requests",
        operation_id="listAssignmentRequests",
        summary="Bulk-assignment requests (a head: their pool's)",
        opt={"page": "crm.approvals"},
    )
    async def requests(
        self,
        crm: Crm,
        caller: CallerDep,
        status: Annotated[RequestStatus | None, QueryParameter()] = None,
        pool_head_id: HeadFilter = None,
        page: PageNo = 1,
        page_size: PageSize = 20,
    ) -> Page[BulkRequest]:
        return await crm.approvals.page(caller, status, pool_head_id, PageRequest(page, page_size))

    @get(
        "/assignment-requests/{request_id:uuid}",
        operation_id="getAssignmentRequest",
        summary="One request with the distribution it will apply",
        opt={"page": "crm.approvals"},
    )
    async def request_detail(
        self, crm: Crm, caller: CallerDep, request_id: FromPath[uuid.UUID]
    ) -> RequestDetail:
        return await crm.approvals.get(caller, request_id)

    @post(
        "/assignment-requests/{request_id:uuid}/approve",
        operation_id="approveAssignmentRequest",
        summary="Approve (not your own): the leads are assigned in the background",
        status_code=200,
        opt={"policy": "admin"},
    )
    async def approve(
        self,
        crm: Crm,
        caller: CallerDep,
        request_id: FromPath[uuid.UUID],
        data: JSONBody[DecisionBody | None] = None,
    ) -> BulkRequest:
        note = data.decision_note if data else None
        return await crm.approvals.approve(caller, request_id, note)

    @post(
        "/assignment-requests/{request_id:uuid}/reject",
        operation_id="rejectAssignmentRequest",
        summary="Reject with a note",
        status_code=200,
        opt={"policy": "admin"},
    )
    async def reject(
        self,
        crm: Crm,
        caller: CallerDep,
        request_id: FromPath[uuid.UUID],
        data: JSONBody[RejectBody],
    ) -> BulkRequest:
        return await crm.approvals.reject(caller, request_id, data.decision_note)

    @post(
        "/assignment-requests/{request_id:uuid}/cancel",
        operation_id="cancelAssignmentRequest",
        summary="Withdraw a pending request (its requester)",
        status_code=200,
        opt={"page": "crm.approvals"},
    )
    async def cancel(
        self, crm: Crm, caller: CallerDep, request_id: FromPath[uuid.UUID]
    ) -> BulkRequest:
        return await crm.approvals.cancel(caller, request_id)

    @post(
        "/assignment-requests/{request_id:uuid}/retry",
        operation_id="retryAssignmentRequest",
        summary="Apply a FAILED request again (done leads are not touched twice)",
        status_code=200,
        opt={"policy": "admin"},
    )
    async def retry(
        self, crm: Crm, caller: CallerDep, request_id: FromPath[uuid.UUID]
    ) -> BulkRequest:
        return await crm.approvals.retry(caller, request_id)

    @get(
        "/team",
        operation_id="getTeam",
        summary="Team members with their open leads and today's new assignments",
        opt={"page": "crm.team"},
    )
    async def team(
        self,
        crm: Crm,
        caller: CallerDep,
        sales_head_id: HeadFilter = None,
        include_inactive: Annotated[bool, QueryParameter()] = False,
        page: PageNo = 1,
        page_size: PageSize = 20,
    ) -> Page[TeamLine]:
        team = await crm.teams.team(caller, sales_head_id, include_inactive)
        return page_of(team, PageRequest(page, page_size))

    @put(
        "/targets",
        operation_id="putTargets",
        summary="Set daily targets {targets: [{salesperson_id, date, ...}]} (-7 to +31 days)",
        opt={
            "page": "crm.targets",
            "rules": {
                "bad_target_rows": "each date is from 7 days before to 31 days after today (IST), "
                "and a salesperson has one row per date",
                "not_sales": "targets are for active SALES users",
            },
        },
    )
    async def put_targets(
        self, crm: Crm, caller: CallerDep, data: JSONBody[TargetSheet]
    ) -> list[DailyTarget]:
        return await crm.targets.upsert(caller, data.targets)

    @get(
        "/targets",
        operation_id="getTargets",
        summary="Target against actual per person and day (at most 92 days)",
        opt={"page": "crm.targets", "rules": RANGE_RULES},
    )
    async def get_targets(
        self,
        crm: Crm,
        caller: CallerDep,
        from_: From = None,
        to: To = None,
        salesperson_id: Annotated[uuid.UUID | None, QueryParameter()] = None,
        sales_head_id: HeadFilter = None,
        page: PageNo = 1,
        page_size: PageSize = 20,
    ) -> Page[TargetLine]:
        return await crm.targets.sheet(
            caller, from_, to, salesperson_id, sales_head_id, PageRequest(page, page_size)
        )

    @get(
        "/targets/leaderboard",
        operation_id="getLeaderboard",
        summary="Team ranked by conversions, then calls (default: today)",
        opt={"page": "crm.leaderboard", "rules": RANGE_RULES},
    )
    async def leaderboard(
        self,
        crm: Crm,
        caller: CallerDep,
        from_: From = None,
        to: To = None,
        sales_head_id: HeadFilter = None,
        page: PageNo = 1,
        page_size: PageSize = 20,
    ) -> Page[Standing]:
        board = await crm.targets.leaderboard(caller, from_, to, sales_head_id)
        return page_of(board, PageRequest(page, page_size))


class SalesTargetsController(CrmController):
    path = "/api/sales/crm/targets"
    tags = ["crm: targets"]
    opt = {"policy": "sales", "page": "crm.targets"}

    @get("/today", operation_id="getMyTargetToday", summary="My target today and live actuals")
    async def today(self, crm: Crm, caller: CallerDep) -> TodaySheet:
        return await crm.targets.today(caller)


class AdminCrmController(CrmController):
    path = "/api/admin/crm"
    tags = ["admin: crm"]
    opt = {"policy": "admin"}

    @get("/sales-heads", operation_id="listSalesHeadProfiles", summary="Sales-head profiles")
    async def profiles(
        self, crm: Crm, page: PageNo = 1, page_size: PageSize = 20
    ) -> Page[SalesHeadProfile]:
        return page_of(await crm.teams.profiles(), PageRequest(page, page_size))

    @get(
        "/sales-heads/{user_id:uuid}",
        operation_id="getSalesHeadProfile",
        summary="One sales-head profile",
    )
    async def profile(self, crm: Crm, user_id: FromPath[uuid.UUID]) -> SalesHeadProfile:
        return await crm.teams.profile(user_id)

    @post(
        "/sales-heads",
        operation_id="createSalesHeadProfile",
        summary="Create the CRM profile of a SALES_HEAD (flags, isolation, thresholds)",
        status_code=201,
        opt={"rules": {"not_sales_head": "user_id is an active SALES_HEAD"}},
    )
    async def create_profile(
        self, crm: Crm, caller: CallerDep, data: JSONBody[NewProfile]
    ) -> SalesHeadProfile:
        return await crm.teams.create_profile(caller, data)

    @patch(
        "/sales-heads/{user_id:uuid}",
        operation_id="updateSalesHeadProfile",
        summary="Change a profile (page_flags given are merged)",
    )
    async def update_profile(
        self,
        crm: Crm,
        caller: CallerDep,
        user_id: FromPath[uuid.UUID],
        data: JSONBody[ProfileChanges],
    ) -> SalesHeadProfile:
        return await crm.teams.update_profile(caller, user_id, data)

    @post(
        "/team-members",
        operation_id="addTeamMember",
        summary="Put a salesperson in a head's team",
        status_code=201,
        opt={
            "problems": (404,),
            "rules": {**HEAD_RULES, "not_sales": "user_id is an active SALES user"},
        },
    )
    async def add_member(
        self, crm: Crm, caller: CallerDep, data: JSONBody[NewMember]
    ) -> TeamMember:
        return await crm.teams.add_member(caller, data)

    @patch(
        "/team-members/{member_id:uuid}",
        operation_id="updateTeamMember",
        summary="Change, move or deactivate a member (open leads need reassign_to)",
        opt={"rules": {**HEAD_RULES, **MEMBER_RULES}},
    )
    async def update_member(
        self,
        crm: Crm,
        caller: CallerDep,
        member_id: FromPath[uuid.UUID],
        data: JSONBody[MemberChanges],
    ) -> TeamMember:
        return await crm.teams.update_member(caller, member_id, data)

    @post(
        "/ownership-transfers",
        operation_id="transferLeadOwnership",
        summary="Move leads to another head's pool (clears assignees by default)",
        status_code=201,
        opt={
            "rules": {
                **HEAD_RULES,
                "same_head": "to_head_id differs from from_head_id",
                "leads_not_movable": "every lead is live, not yet in the target pool and in "
                "from_head_id's pool (when given)",
            }
        },
    )
    async def transfer(
        self, crm: Crm, caller: CallerDep, data: JSONBody[TransferCommand]
    ) -> OwnershipTransfer:
        return await crm.transfers.transfer(caller, data)


class SystemConfigController(CrmController):
    path = "/api/admin/system-config"
    tags = ["admin: system config"]
    opt = {"policy": "admin"}

    @get("/{key:str}", operation_id="getSystemConfig", summary="A SystemConfig value")
    async def get_value(self, crm: Crm, key: ConfigKeyPath) -> ConfigValue:
        return await crm.config.get(key)

    @put("/{key:str}", operation_id="setSystemConfig", summary="Set a SystemConfig value")
    async def set_value(
        self, crm: Crm, caller: CallerDep, key: ConfigKeyPath, data: JSONBody[ConfigBody]
    ) -> ConfigValue:
        return await crm.config.set(caller, key, data.value)
