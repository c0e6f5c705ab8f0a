"""Tags (and their links to leads) and website campaigns with their submissions, on Core."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mas.adapters.db.crm.journal import (
    chunks,
    columns,
    serialise_writers,
    table,
    values_of,
)
from mas.adapters.db.crm.tables import CampaignLeadRow, CampaignRow, LeadTagRow, RawLeadTagRow
from mas.core.crm.model import Campaign, CampaignLead, CampaignLeadStatus, Tag
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.uow import DuplicateKey

TAGS = table(LeadTagRow)
TAGGINGS = table(RawLeadTagRow)  # which lead carries which tag
CAMPAIGNS = table(CampaignRow)
CAMPAIGN_LEADS = table(CampaignLeadRow)
_TAG = columns(TAGS, Tag)
_CAMPAIGN = columns(CAMPAIGNS, Campaign)
_CAMPAIGN_LEAD = columns(CAMPAIGN_LEADS, CampaignLead)


def _tag(row: Any) -> Tag:
    return msgspec.convert(dict(row), Tag)


class SqlTagStore:
    _s: AsyncSession

    async def tags(self) -> list[Tag]:
        rows = await self._s.execute(
            select(*_TAG).where(TAGS.c.deleted_at.is_(None)).order_by(TAGS.c.name)
        )
        return [_tag(r) for r in rows.mappings()]

    async def get_tag(self, tag_id: uuid.UUID) -> Tag | None:
        row = (await self._s.execute(select(*_TAG).where(TAGS.c.id == tag_id))).mappings().first()
        return _tag(row) if row else None

    async def tag_by_name(self, name: str) -> Tag | None:
        row = (await self._s.execute(select(*_TAG).where(TAGS.c.name == name))).mappings().first()
        return _tag(row) if row else None

    async def tags_named(self, names: Sequence[str]) -> list[Tag]:
        if not names:
            return []
        rows = await self._s.execute(
            select(*_TAG).where(TAGS.c.name.in_(list(names)), TAGS.c.deleted_at.is_(None))
        )
        return [_tag(r) for r in rows.mappings()]

    async def add_tag(self, tag: Tag) -> None:
        try:
            await self._s.execute(insert(TAGS).values(**values_of(tag)))
        except IntegrityError:
            raise DuplicateKey(f"tag {tag.name}") from None

    async def save_tag(self, tag: Tag) -> None:
        values = values_of(tag)
        values.pop("id")
        values.pop("created_at")
        try:
            await self._s.execute(
                update(TAGS)
                .where(TAGS.c.id == tag.id)
                .values(**values, updated_at=datetime.now(UTC))
            )
        except IntegrityError:
            raise DuplicateKey(f"tag {tag.name}") from None

    async def _pairs(
        self, lead_ids: Sequence[uuid.UUID], tag_ids: Sequence[uuid.UUID]
    ) -> set[tuple[uuid.UUID, uuid.UUID]]:
        found: set[tuple[uuid.UUID, uuid.UUID]] = set()
        for part in chunks(list(lead_ids)):
            rows = await self._s.execute(
                select(TAGGINGS.c.raw_lead_id, TAGGINGS.c.tag_id).where(
                    TAGGINGS.c.raw_lead_id.in_(part), TAGGINGS.c.tag_id.in_(list(tag_ids))
                )
            )
            found.update((lead, tag) for lead, tag in rows)
        return found

    async def attach_tags(
        self,
        lead_ids: Sequence[uuid.UUID],
        tag_ids: Sequence[uuid.UUID],
        by: uuid.UUID | None,
        now: datetime,
    ) -> list[tuple[uuid.UUID, uuid.UUID]]:
        if not lead_ids or not tag_ids:
            return []
        present = await self._pairs(lead_ids, tag_ids)
        missing = [
            (lead, tag) for lead in lead_ids for tag in tag_ids if (lead, tag) not in present
        ]
        make = pg_insert if self._s.get_bind().dialect.name == "postgresql" else sqlite_insert
        for part in chunks(missing):
            rows = [
                {
                    "id": uuid7(),
                    "raw_lead_id": lead,
                    "tag_id": tag,
                    "added_by": by,
                    "created_at": now,
                    "updated_at": now,
                }
                for lead, tag in part
            ]
            # A concurrent attach of the same pair is not an error.
            await self._s.execute(make(TAGGINGS).on_conflict_do_nothing(), rows)
        return missing

    async def detach_tags(
        self, lead_ids: Sequence[uuid.UUID], tag_ids: Sequence[uuid.UUID]
    ) -> list[tuple[uuid.UUID, uuid.UUID]]:
        if not lead_ids or not tag_ids:
            return []
        present = await self._pairs(lead_ids, tag_ids)
        for part in chunks(list(lead_ids)):
            await self._s.execute(
                delete(TAGGINGS).where(
                    TAGGINGS.c.raw_lead_id.in_(part), TAGGINGS.c.tag_id.in_(list(tag_ids))
                )
            )
        return sorted(present)


class SqlCampaignStore:
    _s: AsyncSession

    async def add_campaign(self, campaign: Campaign) -> None:
        try:
            await self._s.execute(
                insert(CAMPAIGNS).values(**values_of(campaign), updated_at=campaign.created_at)
            )
        except IntegrityError:
            raise DuplicateKey(f"campaign {campaign.slug}") from None

    async def save_campaign(self, campaign: Campaign) -> None:
        values = values_of(campaign)
        for fixed in ("id", "created_at", "created_by"):
            values.pop(fixed)
        try:
            await self._s.execute(
                update(CAMPAIGNS)
                .where(CAMPAIGNS.c.id == campaign.id)
                .values(**values, updated_at=datetime.now(UTC))
            )
        except IntegrityError:
            raise DuplicateKey(f"campaign {campaign.slug}") from None

    async def _campaign(self, condition: Any) -> Campaign | None:
        row = (await self._s.execute(select(*_CAMPAIGN).where(condition))).mappings().first()
        return msgspec.convert(dict(row), Campaign) if row else None

    async def get_campaign(self, campaign_id: uuid.UUID) -> Campaign | None:
        return await self._campaign(CAMPAIGNS.c.id == campaign_id)

    async def campaign_by_slug(self, slug: str) -> Campaign | None:
        return await self._campaign(CAMPAIGNS.c.slug == slug)

    async def campaigns(self, req: PageRequest) -> Page[Campaign]:
        total = (await self._s.execute(select(func.count()).select_from(CAMPAIGNS))).scalar_one()
        rows = await self._s.execute(
            select(*_CAMPAIGN)
            .order_by(CAMPAIGNS.c.created_at.desc(), CAMPAIGNS.c.id.desc())
            .offset(req.offset)
            .limit(req.page_size)
        )
        items = [msgspec.convert(dict(r), Campaign) for r in rows.mappings()]
        return Page(items=items, total=int(total), page=req.page, page_size=req.page_size)

    async def add_campaign_lead(self, submission: CampaignLead) -> None:
        await self._s.execute(
            insert(CAMPAIGN_LEADS).values(**values_of(submission), updated_at=submission.created_at)
        )

    async def get_campaign_lead(
        self, campaign_lead_id: uuid.UUID, *, lock: bool = False
    ) -> CampaignLead | None:
        stmt = select(*_CAMPAIGN_LEAD).where(CAMPAIGN_LEADS.c.id == campaign_lead_id)
        if lock:
            await serialise_writers(self._s)
            stmt = stmt.with_for_update()
        row = (await self._s.execute(stmt)).mappings().first()
        return msgspec.convert(dict(row), CampaignLead) if row else None

    async def settle_campaign_lead(
        self,
        campaign_lead_id: uuid.UUID,
        status: CampaignLeadStatus,
        reason: str | None,
        raw_lead_id: uuid.UUID | None,
    ) -> bool:
        result = await self._s.execute(
            update(CAMPAIGN_LEADS)
            .where(
                CAMPAIGN_LEADS.c.id == campaign_lead_id,
                CAMPAIGN_LEADS.c.status == CampaignLeadStatus.RECEIVED.value,
            )
            .values(
                status=status.value,
                reject_reason=reason,
                raw_lead_id=raw_lead_id,
                updated_at=datetime.now(UTC),
            )
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def received_before(self, moment: datetime, limit: int) -> list[uuid.UUID]:
        rows = await self._s.execute(
            select(CAMPAIGN_LEADS.c.id)
            .where(
                CAMPAIGN_LEADS.c.status == CampaignLeadStatus.RECEIVED.value,
                CAMPAIGN_LEADS.c.created_at < moment,
            )
            .order_by(CAMPAIGN_LEADS.c.created_at)
            .limit(limit)
        )
        return list(rows.scalars().all())

    async def campaign_leads(
        self,
        campaign_id: uuid.UUID | None,
        status: CampaignLeadStatus | None,
        req: PageRequest,
    ) -> Page[CampaignLead]:
        conditions = []
        if campaign_id is not None:
            conditions.append(CAMPAIGN_LEADS.c.campaign_id == campaign_id)
        if status is not None:
            conditions.append(CAMPAIGN_LEADS.c.status == status.value)
        total = (
            await self._s.execute(
                select(func.count()).select_from(CAMPAIGN_LEADS).where(*conditions)
            )
        ).scalar_one()
        rows = await self._s.execute(
            select(*_CAMPAIGN_LEAD)
            .where(*conditions)
            .order_by(CAMPAIGN_LEADS.c.created_at.desc(), CAMPAIGN_LEADS.c.id.desc())
            .offset(req.offset)
            .limit(req.page_size)
        )
        items = [msgspec.convert(dict(r), CampaignLead) for r in rows.mappings()]
        return Page(items=items, total=int(total), page=req.page, page_size=req.page_size)
