"""Leads over HTTP: ``/api/sales/crm`` (a salesperson's own leads, follow-ups and feed) and
``/api/crm`` (a sales head's pool, an admin's every pool). Scope is the service's business:
a lead outside it answers 404."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from litestar import Response, delete, get, patch, post
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, QueryParameter
from litestar.response import Stream

from mas.core.crm.followups import FollowUpUpdate, NewFollowUp
from mas.core.crm.intake import LeadReceipt, NewLead, NewPoolLead
from mas.core.crm.model import Activity, FollowUp, LeadSource, LeadStatus
from mas.core.crm.queries import (
    FollowUpItem,
    FollowUpWindow,
    FunnelReport,
    LeadDetail,
    LeadFilter,
    LeadPage,
    TimelinePage,
)
from mas.core.crm.service import LeadChanges, NoteRequest, PoolLeadChanges, StatusRequest
from mas.core.crm.tagging import BulkTag, BulkTagResult
from mas.core.platform.errors import FieldError, ValidationFailed
from mas.core.platform.paging import Page, PageRequest, page_of
from mas.http.crm import Crm, CrmController
from mas.http.params import CallerDep, PageNo, PageSize

Limit = Annotated[int, QueryParameter(ge=1, le=100, description="items per page (max 100)")]
Cursor = Annotated[
    str | None, QueryParameter(max_length=200, description="next_cursor of the previous page")
]
Statuses = Annotated[
    list[LeadStatus] | None,
    QueryParameter(max_items=len(LeadStatus), description="one or more statuses (repeat it)"),
]
TagFilter = Annotated[str | None, QueryParameter(max_length=40, description="a tag name")]
Search = Annotated[
    str | None, QueryParameter(max_length=100, description="in name, email or phone digits")
]
IfMatch = Annotated[
    str,
    HeaderParameter(
        name="If-Match", max_length=20, description="the lead version you read (required)"
    ),
]
OptionalIfMatch = Annotated[
    str | None,
    HeaderParameter(
        name="If-Match", max_length=20, description="the lead version you read, if any"
    ),
]
IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key", max_length=60, description="a retry with the same key is a no-op"
    ),
]


def version_of(raw: str | None) -> int:
    """``3``, ``"3"`` and ``W/"3"`` all name version 3; an edit without it is refused."""
    text = (raw or "").strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise ValidationFailed(
            "If-Match must carry the lead's version",
            errors=[FieldError("If-Match", "a version number, e.g. 3")],
        )
    return int(text)


MERGED = ResponseSpec(LeadReceipt, description="merged into an existing lead (merged: true)")


def receipt_response(receipt: LeadReceipt) -> Response[LeadReceipt]:
    return Response(receipt, status_code=200 if receipt.merged else 201)


class SalesLeadController(CrmController):
    """A salesperson's own leads (first or second line); heads and admins see their scope."""

    path = "/api/sales/crm"
    tags = ["crm: my leads"]
    # A sales head here needs what ``/api/crm`` asks of them (SALES users are not page-gated).
    opt = {"policy": "sales", "page": "crm.leads"}

    @get("/leads", operation_id="listMyLeads", summary="My leads, newest first")
    async def list_leads(
        self,
        crm: Crm,
        caller: CallerDep,
        status: Statuses = None,
        tag: TagFilter = None,
        q: Search = None,
        due_follow_up: FromQuery[bool] = False,
        page: PageNo = 1,
        page_size: PageSize = 20,
    ) -> LeadPage:
        flt = LeadFilter(statuses=tuple(status or ()), tag=tag, q=q)
        return await crm.leads.page(
            caller, flt, PageRequest(page, page_size), due_follow_up=due_follow_up
        )

    @post(
        "/leads",
        operation_id="addMyLead",
        summary="Add a lead (assigned to me); an existing phone/email merges (200, merged)",
        status_code=201,
        responses={200: MERGED},
    )
    async def add(
        self,
        crm: Crm,
        caller: CallerDep,
        data: JSONBody[NewLead],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[LeadReceipt]:
        return receipt_response(await crm.intake.add_manual(caller, data, idempotency_key))

    @get(
        "/leads/{lead_id:uuid}", operation_id="getMyLead", summary="A lead with tags and follow-ups"
    )
    async def get_lead(
        self, crm: Crm, caller: CallerDep, lead_id: FromPath[uuid.UUID]
    ) -> LeadDetail:
        return await crm.leads.get(caller, lead_id)

    @patch(
        "/leads/{lead_id:uuid}",
        operation_id="editMyLead",
        summary="Edit contact fields (If-Match: the version you read)",
    )
    async def edit(
        self,
        crm: Crm,
        caller: CallerDep,
        lead_id: FromPath[uuid.UUID],
        data: JSONBody[LeadChanges],
        if_match: IfMatch,
    ) -> LeadDetail:
        return await crm.leads.update(caller, lead_id, data, version_of(if_match))

    @post(
        "/leads/{lead_id:uuid}/status",
        operation_id="moveMyLead",
        summary="Change the status (the same status is a no-op)",
        status_code=200,
    )
    async def move(
        self,
        crm: Crm,
        caller: CallerDep,
        lead_id: FromPath[uuid.UUID],
        data: JSONBody[StatusRequest],
        if_match: OptionalIfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> LeadDetail:
        version = version_of(if_match) if if_match else None
        return await crm.leads.change_status(caller, lead_id, data, version, idempotency_key)

    @post(
        "/leads/{lead_id:uuid}/notes",
        operation_id="addNote",
        summary="Write a note on the lead's timeline",
        status_code=201,
    )
    async def note(
        self,
        crm: Crm,
        caller: CallerDep,
        lead_id: FromPath[uuid.UUID],
        data: JSONBody[NoteRequest],
    ) -> Activity:
        return await crm.leads.add_note(caller, lead_id, data.body)

    @get(
        "/leads/{lead_id:uuid}/timeline",
        operation_id="leadTimeline",
        summary="The lead's activities, newest first (cursor paging)",
    )
    async def timeline(
        self,
        crm: Crm,
        caller: CallerDep,
        lead_id: FromPath[uuid.UUID],
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> TimelinePage:
        return await crm.leads.timeline(caller, lead_id, cursor, limit)

    @post(
        "/leads/{lead_id:uuid}/follow-ups",
        operation_id="scheduleFollowUp",
        summary="Schedule a follow-up (optionally moving the lead to FOLLOW_UP)",
        status_code=201,
    )
    async def schedule(
        self,
        crm: Crm,
        caller: CallerDep,
        lead_id: FromPath[uuid.UUID],
        data: JSONBody[NewFollowUp],
    ) -> FollowUp:
        return await crm.follow_ups.schedule(caller, lead_id, data)

    @patch(
        "/follow-ups/{follow_up_id:uuid}",
        operation_id="updateFollowUp",
        summary="Mark a follow-up done, cancel or reschedule it",
    )
    async def update_follow_up(
        self,
        crm: Crm,
        caller: CallerDep,
        follow_up_id: FromPath[uuid.UUID],
        data: JSONBody[FollowUpUpdate],
    ) -> FollowUp:
        return await crm.follow_ups.update(caller, follow_up_id, data)

    @get(
        "/follow-ups",
        operation_id="myFollowUps",
        summary="My follow-ups due today, overdue, or this week (IST)",
    )
    async def follow_ups(
        self,
        crm: Crm,
        caller: CallerDep,
        window: FromQuery[FollowUpWindow] = FollowUpWindow.TODAY,
        page: PageNo = 1,
        page_size: PageSize = 20,
    ) -> Page[FollowUpItem]:
        agenda = await crm.follow_ups.agenda(caller, window)
        return page_of(agenda, PageRequest(page, page_size))

    @get("/activity", operation_id="myActivity", summary="My activity feed, newest first")
    async def activity(
        self, crm: Crm, caller: CallerDep, cursor: Cursor = None, limit: Limit = 50
    ) -> TimelinePage:
        return await crm.leads.feed(caller, cursor, limit)

    @post(
        "/leads/{lead_id:uuid}/tags/{tag_id:uuid}",
        operation_id="tagLead",
        summary="Attach a tag",
        status_code=200,
        opt={"flag": "tags"},
    )
    async def tag(
        self,
        crm: Crm,
        caller: CallerDep,
        lead_id: FromPath[uuid.UUID],
        tag_id: FromPath[uuid.UUID],
    ) -> LeadDetail:
        return await crm.tags.attach(caller, lead_id, tag_id)

    @delete(
        "/leads/{lead_id:uuid}/tags/{tag_id:uuid}",
        operation_id="untagLead",
        summary="Detach a tag",
        status_code=200,
        opt={"flag": "tags"},
    )
    async def untag(
        self,
        crm: Crm,
        caller: CallerDep,
        lead_id: FromPath[uuid.UUID],
        tag_id: FromPath[uuid.UUID],
    ) -> LeadDetail:
        return await crm.tags.detach(caller, lead_id, tag_id)


def pool_filter(
    status: list[LeadStatus] | None,
    tag: str | None,
    q: str | None,
    assigned: str | None,
    source: LeadSource | None,
    pool: uuid.UUID | None,
) -> LeadFilter:
    unassigned, assignee = False, None
    if assigned is not None:
        if assigned.strip().lower() == "none":
            unassigned = True
        else:
            try:
                assignee = uuid.UUID(assigned)
            except ValueError:
                raise ValidationFailed(
                    "assigned is 'none' or a user id",
                    errors=[FieldError("assigned", "'none' or a user id")],
                ) from None
    return LeadFilter(
        statuses=tuple(status or ()),
        tag=tag,
        q=q,
        unassigned=unassigned,
        assigned_to=assignee,
        source=source,
        pool=pool,
    )


Assigned = Annotated[
    str | None, QueryParameter(max_length=36, description="'none' (unassigned) or a user id")
]


class PoolLeadController(CrmController):
    """A sales head's pool (read every pool when their isolation is off); ADMIN every pool."""

    path = "/api/crm"
    tags = ["crm: pool"]
    opt = {"policy": "sales_head", "page": "crm.leads"}

    @get("/leads", operation_id="listPoolLeads", summary="Leads of the pool, newest first")
    async def list_leads(
        self,
        crm: Crm,
        caller: CallerDep,
        status: Statuses = None,
        tag: TagFilter = None,
        q: Search = None,
        assigned: Assigned = None,
        source: FromQuery[LeadSource | None] = None,
        pool: FromQuery[uuid.UUID | None] = None,
        due_follow_up: FromQuery[bool] = False,
        page: PageNo = 1,
        page_size: PageSize = 20,
    ) -> LeadPage:
        flt = pool_filter(status, tag, q, assigned, source, pool)
        return await crm.leads.page(
            caller, flt, PageRequest(page, page_size), due_follow_up=due_follow_up
        )

    @post(
        "/leads",
        operation_id="addPoolLead",
        summary="Add a lead to a pool; an existing phone/email merges (200, merged)",
        status_code=201,
        responses={200: MERGED},
    )
    async def add(
        self,
        crm: Crm,
        caller: CallerDep,
        data: JSONBody[NewPoolLead],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[LeadReceipt]:
        return receipt_response(await crm.intake.add_manual(caller, data, idempotency_key))

    @get("/leads/{lead_id:uuid}", operation_id="getPoolLead", summary="A lead of the pool")
    async def get_lead(
        self, crm: Crm, caller: CallerDep, lead_id: FromPath[uuid.UUID]
    ) -> LeadDetail:
        return await crm.leads.get(caller, lead_id)

    @patch(
        "/leads/{lead_id:uuid}",
        operation_id="editPoolLead",
        summary="Edit fields and/or the status (If-Match: the version you read)",
    )
    async def edit(
        self,
        crm: Crm,
        caller: CallerDep,
        lead_id: FromPath[uuid.UUID],
        data: JSONBody[PoolLeadChanges],
        if_match: IfMatch,
    ) -> LeadDetail:
        return await crm.leads.update(caller, lead_id, data, version_of(if_match))

    @delete(
        "/leads/{lead_id:uuid}",
        operation_id="deleteLead",
        summary="Soft-delete a lead (ADMIN)",
        status_code=204,
        opt={"policy": "admin"},
    )
    async def remove(self, crm: Crm, caller: CallerDep, lead_id: FromPath[uuid.UUID]) -> None:
        await crm.leads.delete(caller, lead_id)

    @post(
        "/leads/bulk-tag",
        operation_id="bulkTagLeads",
        summary="Attach and detach tags on up to 5 000 leads of the pool",
        status_code=200,
        opt={"flag": "tags"},
    )
    async def bulk_tag(self, crm: Crm, caller: CallerDep, data: JSONBody[BulkTag]) -> BulkTagResult:
        return await crm.tags.bulk(caller, data)

    @get(
        "/leads/export.csv",
        operation_id="exportLeads",
        summary="The filtered pool as CSV, streamed (at most 100 000 rows)",
        media_type="text/csv",
        opt={"flag": "export"},
    )
    async def export(
        self,
        crm: Crm,
        caller: CallerDep,
        status: Statuses = None,
        tag: TagFilter = None,
        q: Search = None,
        assigned: Assigned = None,
        source: FromQuery[LeadSource | None] = None,
        pool: FromQuery[uuid.UUID | None] = None,
    ) -> Stream:
        flt = pool_filter(status, tag, q, assigned, source, pool)
        rows = await crm.analytics.export(caller, flt)
        day = crm.clock.now().strftime("%Y%m%d")
        return Stream(
            rows,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="leads-{day}.csv"'},
        )

    @get(
        "/analytics/funnel",
        operation_id="leadFunnel",
        summary="Lead counts by status, source and tag over local days (at most 366)",
        opt={"page": "crm.analytics"},
    )
    async def funnel(
        self,
        crm: Crm,
        caller: CallerDep,
        date_from: FromQuery[date | None] = None,
        date_to: FromQuery[date | None] = None,
        tag: TagFilter = None,
        source: FromQuery[LeadSource | None] = None,
        pool: FromQuery[uuid.UUID | None] = None,
    ) -> FunnelReport:
        flt = LeadFilter(tag=tag, source=source, pool=pool)
        return await crm.analytics.funnel(caller, date_from, date_to, flt)
