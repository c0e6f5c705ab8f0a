"""Tags (``/api/crm/tags``), campaigns (``/api/crm/campaigns``, ADMIN) and the public
campaign form (``/api/public/campaigns/{slug}/leads``, anonymous, rate-limited)."""

from __future__ import annotations

import uuid

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody

from mas.core.crm.campaigns import CampaignChanges, NewCampaign, Submission
from mas.core.crm.model import Campaign, CampaignLead, CampaignLeadStatus, Tag
from mas.core.crm.tagging import NewTag, TagChanges
from mas.core.shared.paging import Page, PageRequest
from mas.http.params import CallerDep, Deps, InfoDep, PageNo, PageSize


class Received(msgspec.Struct, frozen=True):
    received: bool = True


class TagController(Controller):
    path = "/api/crm/tags"
    tags = ["crm: tags"]
    opt = {"policy": "admin"}

    @get("/", operation_id="listTags", summary="Every tag", opt={"policy": "sales"})
    async def list_tags(self, container: Deps) -> list[Tag]:
        return await container.crm_tags.all()

    @post("/", operation_id="createTag", summary="Create a tag (names are unique, any case)")
    async def create(self, container: Deps, caller: CallerDep, data: JSONBody[NewTag]) -> Tag:
        return await container.crm_tags.create(caller, data)

    @patch("/{tag_id:uuid}", operation_id="updateTag", summary="Rename or recolour a tag")
    async def update(
        self, container: Deps, tag_id: FromPath[uuid.UUID], data: JSONBody[TagChanges]
    ) -> Tag:
        return await container.crm_tags.update(tag_id, data)

    @delete("/{tag_id:uuid}", operation_id="deleteTag", summary="Delete a tag", status_code=204)
    async def remove(self, container: Deps, tag_id: FromPath[uuid.UUID]) -> None:
        await container.crm_tags.delete(tag_id)


class CampaignController(Controller):
    path = "/api/crm"
    tags = ["crm: campaigns"]
    opt = {"policy": "admin"}

    @get("/campaigns", operation_id="listCampaigns", summary="Campaigns, newest first")
    async def list_campaigns(
        self, container: Deps, page: PageNo = 1, page_size: PageSize = 20
    ) -> Page[Campaign]:
        return await container.crm_campaigns.page(PageRequest(page, page_size))

    @post("/campaigns", operation_id="createCampaign", summary="Create a campaign")
    async def create(
        self, container: Deps, caller: CallerDep, data: JSONBody[NewCampaign]
    ) -> Campaign:
        return await container.crm_campaigns.create(caller, data)

    @get("/campaigns/{campaign_id:uuid}", operation_id="getCampaign", summary="A campaign")
    async def get_campaign(self, container: Deps, campaign_id: FromPath[uuid.UUID]) -> Campaign:
        return await container.crm_campaigns.get(campaign_id)

    @patch(
        "/campaigns/{campaign_id:uuid}", operation_id="updateCampaign", summary="Edit a campaign"
    )
    async def update(
        self,
        container: Deps,
        campaign_id: FromPath[uuid.UUID],
        data: JSONBody[CampaignChanges],
    ) -> Campaign:
        return await container.crm_campaigns.update(campaign_id, data)

    @get(
        "/campaign-leads",
        operation_id="listCampaignLeads",
        summary="Raw form submissions, rejected ones included",
    )
    async def submissions(
        self,
        container: Deps,
        campaign_id: FromQuery[uuid.UUID | None] = None,
        status: FromQuery[CampaignLeadStatus | None] = None,
        page: PageNo = 1,
        page_size: PageSize = 20,
    ) -> Page[CampaignLead]:
        return await container.crm_campaigns.submissions(
            campaign_id, status, PageRequest(page, page_size)
        )


class PublicCampaignController(Controller):
    path = "/api/public/campaigns"
    tags = ["public"]
    opt = {"public": True}

    @post(
        "/{slug:str}/leads",
        operation_id="submitCampaignForm",
        summary="Submit a campaign form; always the same 202 body",
        status_code=202,
    )
    async def submit(
        self,
        container: Deps,
        slug: FromPath[str],
        data: JSONBody[Submission],
        info: InfoDep,
    ) -> Received:
        await container.crm_campaigns.submit(slug, data, info.ip)
        return Received()
