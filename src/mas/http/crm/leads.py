"""Leads over HTTP: ``/api/sales/crm`` (a salesperson's own leads, follow-ups and feed) and
``/api/crm`` (a sales head's pool, an admin's every pool). Scope is the service's business:
a lead outside it answers 404."""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Annotated, Any

from litestar import Response, delete, get, patch, post
from litestar.enums import RequestEncodingType
from litestar.openapi import ResponseSpec
from litestar.params import (
    Body,
    FromPath,
    FromQuery,
    HeaderParameter,
    JSONBody,
    QueryParameter,
)
from litestar.response import Stream

from mas.core.crm.contact import AN_EMAIL, NOT_BLANK
from mas.core.crm.followups import FollowUpAction, FollowUpUpdate, NewFollowUp
from mas.core.crm.intake import LeadReceipt, NewLead, NewPoolLead
from mas.core.crm.model import Activity, FollowUp, LeadSource, LeadStatus
from mas.core.crm.queries import (
    COUNT_CAP,
    COUNT_TTL_S,
    CURSOR_PATTERN,
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

PRESENT_STRING = {"one_of": None, "type": "string"}
"""An optional header or query parameter is a string when present: Litestar documents
``str | None`` as "a string or null", and a client would send the text ``null``."""
Limit = Annotated[int, QueryParameter(ge=1, le=100, description="items per page (max 100)")]
Cursor = Annotated[
    str | None,
    QueryParameter(
        max_length=49,
        pattern=CURSOR_PATTERN,
        description="next_cursor of the previous page",
        schema_extra=PRESENT_STRING,
    ),
]
Statuses = Annotated[
    list[LeadStatus] | None,
    QueryParameter(max_items=len(LeadStatus), description="one or more statuses (repeat it)"),
]
TagFilter = Annotated[str | None, QueryParameter(max_length=40, description="a tag name")]
Search = Annotated[
    str | None, QueryParameter(max_length=100, description="in name, email or phone digits")
]
VERSION_PATTERN = r'^(?:W/)?"?[0-9]{1,9}"?$'
"""``3``, ``"3"`` or ``W/"3"``: the ``version`` of the lead as read."""
_VERSION = re.compile(VERSION_PATTERN)
IfMatch = Annotated[
    str,
    HeaderParameter(
        name="If-Match",
        max_length=20,
        pattern=VERSION_PATTERN,
        description="the lead version you read (required)",
    ),
]
OptionalIfMatch = Annotated[
    str | None,
    HeaderParameter(
        name="If-Match",
        max_length=20,
        pattern=VERSION_PATTERN,
        description="the lead version you read, if any",
        schema_extra=PRESENT_STRING,
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
    if raw is None or not _VERSION.search(raw):
        raise ValidationFailed(
            "If-Match must carry the lead's version",
            errors=[FieldError("If-Match", "a version number, e.g. 3")],
        )
    return int(raw.strip().removeprefix("W/").strip('"'))


MERGED = ResponseSpec(LeadReceipt, description="merged into an existing lead (merged: true)")

# What the schema states of a new lead's contact: a phone (``phone`` or ``phone_alt``) or an
# email. Whether a phone is a number that can be dialled is the ``contact_required`` rule.
_GIVEN = {"type": "string", "pattern": NOT_BLANK}
CONTACT_GIVEN: dict[str, Any] = {
    "anyOf": [
        {"required": ["phone"], "properties": {"phone": _GIVEN}},
        {"required": ["phone_alt"], "properties": {"phone_alt": _GIVEN}},
        {"required": ["email"], "properties": {"email": {"type": "string", "pattern": AN_EMAIL}}},
    ]
}
# Rules no schema keyword states (``opt["rules"]``, listed in the document as ``x-rules``).
CONTACT_RULES = {
    "contact_required": "a lead needs a phone number that can be dialled or an email",
    "real_name_required": "the name is a person's, not blank, 'Unknown', 'N/A', 'none' or '-'",
    "extra_data_too_large": "extra_data is at most 16 KB of JSON",
}
EDIT_RULES = {
    **CONTACT_RULES,
    "invalid_phone": "a phone given is a phone number (null clears it)",
}
STATUS_RULES = {
    "lost_reason_required": "a move to NOT_INTERESTED or CLOSED needs a lost_reason",
    "conversion_ref_required": "a move to CONVERTED needs a conversion_ref",
    "counsellor_required": "a move to QUALIFIED needs a counsellor assigned first",
}
FOLLOW_UP_RULES = {"follow_up_in_past": "due_at is not in the past"}
CURSOR_RULES = {"page_with_cursor": "a cursor comes with page 1 or no page"}
RANGE_RULES = {
    "range_reversed": "date_from is not after date_to",
    "range_too_long": "a report covers at most 366 days",
    "date_out_of_range": "a day is between 2000-01-01 and 2999-12-31",
}
NewLeadBody = Annotated[
    NewLead, Body(media_type=RequestEncodingType.JSON, schema_extra=CONTACT_GIVEN)
]
NewPoolLeadBody = Annotated[
    NewPoolLead, Body(media_type=RequestEncodingType.JSON, schema_extra=CONTACT_GIVEN)
]
# A reschedule names the new due_at; done and cancel do not need one.
FollowUpUpdateBody = Annotated[
    FollowUpUpdate,
    Body(
        media_type=RequestEncodingType.JSON,
        schema_extra={
            "anyOf": [
                {"properties": {"action": {"not": {"const": FollowUpAction.RESCHEDULE.value}}}},
                {"required": ["due_at"]},
            ]
        },
    ),
]


def receipt_response(receipt: LeadReceipt) -> Response[LeadReceipt]:
    return Response(receipt, status_code=200 if receipt.merged else 201)


LIST_PAGING = (
    "Newest first (created_at, then id). Two ways to page: `page` (offset, kept for existing "
    "clients) or `cursor` (the `next_cursor` of the previous page: the next leads are read "
    "through the index, so a deep page costs what the first does, and a lead added meanwhile "
    "neither repeats nor skips one). `has_more` and `next_cursor` are exact. `total` is exact "
    "unless `total_is_estimate` is true: then it was counted for the same scope and filters "
    f"at most {COUNT_TTL_S} s ago (and is never below what the page shows); it is counted up "
    f"to {COUNT_CAP:,} (`total_capped`: at least that many)."
)
LeadCursor = Annotated[
    str | None,
    QueryParameter(
        max_length=49,
        pattern=CURSOR_PATTERN,
        description="next_cursor of the previous page (then page is 1 or left out)",
        schema_extra=PRESENT_STRING,
    ),
]


class SalesLeadController(CrmController):
    """A salesperson's own leads (first or second line); heads and admins see their scope."""

    path = "/api/sales/crm"
    tags = ["crm: my leads"]
    # A sales head here needs what ``/api/crm`` asks of them (SALES users are not page-gated).
    opt = {"policy": "sales", "page": "crm.leads"}

    @get(
        "/leads",
        operation_id="listMyLeads",
        summary="My leads, newest first",
        description=LIST_PAGING,
        opt={"rules": CURSOR_RULES},
    )
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
        cursor: LeadCursor = None,
    ) -> LeadPage:
        flt = LeadFilter(statuses=tuple(status or ()), tag=tag, q=q)
        return await crm.leads.page(
            caller,
            flt,
            PageRequest(page, page_size),
            due_follow_up=due_follow_up,
            cursor=cursor,
        )

    @post(
        "/leads",
        operation_id="addMyLead",
        summary="Add a lead (assigned to me); an existing phone/email merges (200, merged)",
        status_code=201,
        responses={200: MERGED},
        opt={"rules": CONTACT_RULES},
    )
    async def add(
        self,
        crm: Crm,
        caller: CallerDep,
        data: NewLeadBody,
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
        opt={"rules": EDIT_RULES},
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
        opt={"rules": STATUS_RULES},
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
        opt={
            "rules": {
                **FOLLOW_UP_RULES,
                "owner_not_allowed": "owner_id is the caller (SALES) or an active salesperson "
                "(a head: SALES only; an admin: SALES or SALES_HEAD)",
            }
        },
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
        opt={"rules": FOLLOW_UP_RULES},
    )
    async def update_follow_up(
        self,
        crm: Crm,
        caller: CallerDep,
        follow_up_id: FromPath[uuid.UUID],
        data: FollowUpUpdateBody,
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


_HEX = "[0-9a-fA-F]"
ASSIGNED_PATTERN = (
    f"^(?:[Nn][Oo][Nn][Ee]|{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}})$"
)
_ASSIGNED = re.compile(ASSIGNED_PATTERN)
Assigned = Annotated[
    str | None,
    QueryParameter(
        max_length=36,
        pattern=ASSIGNED_PATTERN,
        description="'none' (unassigned) or a user id",
        schema_extra=PRESENT_STRING,
    ),
]


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
        if not _ASSIGNED.search(assigned):
            raise ValidationFailed(
                "assigned is 'none' or a user id",
                errors=[FieldError("assigned", "'none' or a user id")],
            )
        if assigned.strip().lower() == "none":
            unassigned = True
        else:
            assignee = uuid.UUID(assigned.strip())
    return LeadFilter(
        statuses=tuple(status or ()),
        tag=tag,
        q=q,
        unassigned=unassigned,
        assigned_to=assignee,
        source=source,
        pool=pool,
    )


class PoolLeadController(CrmController):
    """A sales head's pool (read every pool when their isolation is off); ADMIN every pool."""

    path = "/api/crm"
    tags = ["crm: pool"]
    opt = {"policy": "sales_head", "page": "crm.leads"}

    @get(
        "/leads",
        operation_id="listPoolLeads",
        summary="Leads of the pool, newest first",
        description=LIST_PAGING,
        opt={"rules": CURSOR_RULES},
    )
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
        cursor: LeadCursor = None,
    ) -> LeadPage:
        flt = pool_filter(status, tag, q, assigned, source, pool)
        return await crm.leads.page(
            caller,
            flt,
            PageRequest(page, page_size),
            due_follow_up=due_follow_up,
            cursor=cursor,
        )

    @post(
        "/leads",
        operation_id="addPoolLead",
        summary="Add a lead to a pool; an existing phone/email merges (200, merged)",
        status_code=201,
        responses={200: MERGED},
        opt={
            "rules": {
                **CONTACT_RULES,
                "not_sales_head": "owning_sales_head_id names an active SALES_HEAD",
            }
        },
    )
    async def add(
        self,
        crm: Crm,
        caller: CallerDep,
        data: NewPoolLeadBody,
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
        opt={"rules": {**EDIT_RULES, **STATUS_RULES}},
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
        opt={"flag": "tags", "problems": (404,)},
    )
    async def bulk_tag(self, crm: Crm, caller: CallerDep, data: JSONBody[BulkTag]) -> BulkTagResult:
        return await crm.tags.bulk(caller, data)

    @get(
        "/leads/export.csv",
        operation_id="exportLeads",
        summary="The filtered pool as CSV, streamed (at most 100 000 rows)",
        media_type="text/csv",
        opt={
            "flag": "export",
            "rules": {"export_too_large": "at most 100 000 leads match the filters"},
        },
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
        opt={"page": "crm.analytics", "rules": RANGE_RULES},
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
