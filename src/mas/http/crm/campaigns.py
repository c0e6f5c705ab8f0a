"""Tags (``/api/crm/tags``), campaigns (``/api/crm/campaigns``, ADMIN) and the public
campaign form (``/api/public/campaigns/{slug}/leads``, anonymous, rate-limited)."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec
from litestar import delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, PathParameter

from mas.core.crm.campaigns import SLUG_MAX, CampaignChanges, NewCampaign, Submission
from mas.core.crm.model import Campaign, CampaignLead, CampaignLeadStatus, Tag
from mas.core.crm.tagging import NewTag, TagChanges
from mas.core.platform.paging import Page, PageRequest, page_of
from mas.http.crm import Crm, CrmController
from mas.http.crm.leads import CONTACT_RULES
from mas.http.params import CallerDep, InfoDep, PageNo, PageSize


class Received(msgspec.Struct, frozen=True):
    received: bool = True


class TagController(CrmController):
    path = "/api/crm/tags"
    tags = ["crm: tags"]
    opt = {"policy": "admin"}

    @get(
        "/",
        operation_id="listTags",
        summary="Every tag",
        opt={"policy": "sales", "page": "crm.leads"},
    )
    async def list_tags(self, crm: Crm, page: PageNo = 1, page_size: PageSize = 20) -> Page[Tag]:
        return page_of(await crm.tags.all(), PageRequest(page, page_size))

    @post("/", operation_id="createTag", summary="Create a tag (names are unique, any case)")
    async def create(self, crm: Crm, caller: CallerDep, data: JSONBody[NewTag]) -> Tag:
        return await crm.tags.create(caller, data)

    @patch("/{tag_id:uuid}", operation_id="updateTag", summary="Rename or recolour a tag")
    async def update(
        self, crm: Crm, tag_id: FromPath[uuid.UUID], data: JSONBody[TagChanges]
    ) -> Tag:
        return await crm.tags.update(tag_id, data)

    @delete("/{tag_id:uuid}", operation_id="deleteTag", summary="Delete a tag", status_code=204)
    async def remove(self, crm: Crm, tag_id: FromPath[uuid.UUID]) -> None:
        await crm.tags.delete(tag_id)


CAMPAIGN_RULES = {
    "campaign_ends_before_start": "ends_at is after starts_at",
    "not_sales_head": "default_sales_head_id names a SALES_HEAD",
    "unknown_tag": "every default tag exists (an admin creates tags)",
}


class CampaignController(CrmController):
    path = "/api/crm"
    tags = ["crm: campaigns"]
    opt = {"policy": "admin"}

    @get("/campaigns", operation_id="listCampaigns", summary="Campaigns, newest first")
    async def list_campaigns(
        self, crm: Crm, page: PageNo = 1, page_size: PageSize = 20
    ) -> Page[Campaign]:
        return await crm.campaigns.page(PageRequest(page, page_size))

    @post(
        "/campaigns",
        operation_id="createCampaign",
        summary="Create a campaign",
        opt={"rules": CAMPAIGN_RULES},
    )
    async def create(self, crm: Crm, caller: CallerDep, data: JSONBody[NewCampaign]) -> Campaign:
        return await crm.campaigns.create(caller, data)

    @get("/campaigns/{campaign_id:uuid}", operation_id="getCampaign", summary="A campaign")
    async def get_campaign(self, crm: Crm, campaign_id: FromPath[uuid.UUID]) -> Campaign:
        return await crm.campaigns.get(campaign_id)

    @patch(
        "/campaigns/{campaign_id:uuid}",
        operation_id="updateCampaign",
        summary="Edit a campaign",
        opt={"rules": CAMPAIGN_RULES},
    )
    async def update(
        self,
        crm: Crm,
        campaign_id: FromPath[uuid.UUID],
        data: JSONBody[CampaignChanges],
    ) -> Campaign:
        return await crm.campaigns.update(campaign_id, data)

    @get(
        "/campaign-leads",
        operation_id="listCampaignLeads",
        summary="Raw form submissions, rejected ones included",
    )
    async def submissions(
        self,
        crm: Crm,
        campaign_id: FromQuery[uuid.UUID | None] = None,
        status: FromQuery[CampaignLeadStatus | None] = None,
        page: PageNo = 1,
        page_size: PageSize = 20,
    ) -> Page[CampaignLead]:
        return await crm.campaigns.submissions(campaign_id, status, PageRequest(page, page_size))


class PublicCampaignController(CrmController):
    path = "/api/public/campaigns"
    tags = ["public"]
    opt = {"public": True}

    @post(
        "/{slug:str}/leads",
        operation_id="submitCampaignForm",
        summary="Submit a campaign form; always the same 202 body",
        status_code=202,
        # The form's contact rules are the lead's (a honeypot submission skips them).
        opt={"rules": CONTACT_RULES},
    )
    async def submit(
        self,
        crm: Crm,
        slug: Annotated[str, PathParameter(max_length=SLUG_MAX)],
        data: JSONBody[Submission],
        info: InfoDep,
    ) -> Received:
        await crm.campaigns.submit(slug, data, info.ip)
        return Received()
