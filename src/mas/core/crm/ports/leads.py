"""Persistence port of the CRM lead lifecycle: leads, intakes, the journal, follow-ups, tags,
campaigns. ``uow.leads`` implements all of them.

Every read of leads on behalf of a person takes a ``LeadScope``; the adapter turns it into one
SQL predicate, so no query can forget it. The journal has ``append`` and reads only: activities
are never updated or deleted (PostgreSQL refuses it with a trigger as well).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from mas.core.crm.model import (
    Activity,
    Campaign,
    CampaignLead,
    CampaignLeadStatus,
    FollowUp,
    FollowUpStatus,
    IntakeChannel,
    Lead,
    LeadIntake,
    Tag,
)
from mas.core.crm.queries import FollowUpItem, LeadFilter, LeadSlice
from mas.core.crm.scope import LeadScope
from mas.core.platform.paging import Page, PageRequest


class LeadStore(Protocol):
    async def get(
        self, lead_id: uuid.UUID, scope: LeadScope, *, write: bool = False, lock: bool = False
    ) -> Lead | None:
        """A live lead inside ``scope`` (its write part when ``write``), with its tag names."""
        ...

    async def find_match(
        self, phone: str | None, phone_alt: str | None, email: str | None
    ) -> Lead | None:
        """The live lead matching by phone, then alternate phone, then email (row locked)."""
        ...

    async def add(self, lead: Lead) -> None:
        """Insert; ``DuplicateKey`` when a live lead already holds the phone (or email)."""
        ...

    async def save(self, lead: Lead) -> bool:
        """Write the editable fields if the stored version is ``lead.version``; bump it.

        False when someone changed the lead meanwhile; ``DuplicateKey`` on a taken phone/email.
        Pool and assignees are not written here (assignment owns them).
        """
        ...

    async def page(
        self,
        scope: LeadScope,
        flt: LeadFilter,
        req: PageRequest,
        *,
        after: tuple[datetime, uuid.UUID] | None = None,
        count: bool = True,
    ) -> LeadSlice:
        """Up to ``req.page_size + 1`` leads newest first (created_at, id descending): after
        ``req.offset`` of them, or after the position ``after`` (keyset). With ``count``, the
        total counted up to ``COUNT_CAP``."""
        ...

    async def count(self, scope: LeadScope, flt: LeadFilter, cap: int) -> int:
        """How many match, counting at most ``cap`` + 1."""
        ...

    async def export_batch(
        self,
        scope: LeadScope,
        flt: LeadFilter,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> list[Lead]:
        """The next ``limit`` leads in (created_at, id) order after ``after``."""
        ...

    async def in_scope(
        self, scope: LeadScope, lead_ids: Sequence[uuid.UUID], *, write: bool
    ) -> list[uuid.UUID]: ...

    async def soft_delete(self, lead_id: uuid.UUID, now: datetime) -> bool: ...

    async def refresh_next_follow_up(self, lead_ids: Sequence[uuid.UUID]) -> None:
        """Recompute the denormalised earliest pending follow-up of these leads."""
        ...

    async def funnel(
        self, scope: LeadScope, flt: LeadFilter
    ) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
        """Counts by status, by source and by tag."""
        ...

    async def isolation_enabled(self, head_id: uuid.UUID) -> bool:
        """The sales head's isolation flag (true when they have no profile)."""
        ...

    async def head_of(self, user_id: uuid.UUID) -> uuid.UUID | None:
        """The sales head whose team the salesperson is on (active membership)."""
        ...

    async def record_self_assignment(
        self, lead_id: uuid.UUID, assignee_id: uuid.UUID, reason: str, now: datetime
    ) -> None:
        """History row for a first-line assignment made at intake."""
        ...


class LeadJournal(Protocol):
    async def add_intake(self, intake: LeadIntake) -> None:
        """Insert; ``DuplicateKey`` when (channel, channel_ref) was already taken in."""
        ...

    async def intake_by_ref(
        self, channel: IntakeChannel, channel_ref: str
    ) -> LeadIntake | None: ...

    async def intakes_of(self, lead_id: uuid.UUID) -> list[LeadIntake]: ...

    async def append(self, *activities: Activity) -> None:
        """Add journal lines (and move each lead's ``last_activity_at`` forward)."""
        ...

    async def timeline(
        self, lead_id: uuid.UUID, before: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[Activity]:
        """Newest first."""
        ...

    async def feed(
        self, actor_id: uuid.UUID, before: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[Activity]: ...


class FollowUpStore(Protocol):
    async def add_follow_up(self, follow_up: FollowUp) -> None: ...

    async def get_follow_up(self, follow_up_id: uuid.UUID) -> FollowUp | None: ...

    async def save_follow_up(self, follow_up: FollowUp, was: FollowUpStatus) -> bool:
        """Write it if its stored status is still ``was`` (a job may have moved it)."""
        ...

    async def open_follow_ups(self, lead_id: uuid.UUID) -> list[FollowUp]: ...

    async def agenda(
        self,
        owner_id: uuid.UUID,
        statuses: Sequence[FollowUpStatus],
        due_from: datetime | None,
        due_before: datetime,
        limit: int,
    ) -> list[FollowUpItem]:
        """An owner's follow-ups of live leads, by due time."""
        ...

    async def mark_missed(self, due_before: datetime, now: datetime, limit: int) -> list[FollowUp]:
        """PENDING follow-ups due before ``due_before`` become MISSED; the ones moved."""
        ...

    async def owners_due(self, due_from: datetime, due_before: datetime) -> list[uuid.UUID]:
        """Owners with pending or missed follow-ups due in the range (live leads)."""
        ...

    async def cancel_open_follow_ups(self, lead_id: uuid.UUID, now: datetime) -> int: ...


class TagStore(Protocol):
    async def tags(self) -> list[Tag]:
        """Live tags by name."""
        ...

    async def get_tag(self, tag_id: uuid.UUID) -> Tag | None: ...

    async def tag_by_name(self, name: str) -> Tag | None:
        """By slug, deleted ones included (names stay reserved)."""
        ...

    async def tags_named(self, names: Sequence[str]) -> list[Tag]:
        """The live tags among ``names``."""
        ...

    async def add_tag(self, tag: Tag) -> None:
        """Insert; ``DuplicateKey`` when the name is taken."""
        ...

    async def save_tag(self, tag: Tag) -> None:
        """Write; ``DuplicateKey`` when renamed onto a taken name."""
        ...

    async def attach_tags(
        self,
        lead_ids: Sequence[uuid.UUID],
        tag_ids: Sequence[uuid.UUID],
        by: uuid.UUID | None,
        now: datetime,
    ) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """Attach; returns the (lead, tag) pairs that were not attached before."""
        ...

    async def detach_tags(
        self, lead_ids: Sequence[uuid.UUID], tag_ids: Sequence[uuid.UUID]
    ) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """Detach; returns the pairs that were attached."""
        ...


class CampaignStore(Protocol):
    async def add_campaign(self, campaign: Campaign) -> None:
        """Insert; ``DuplicateKey`` when the slug is taken."""
        ...

    async def save_campaign(self, campaign: Campaign) -> None: ...

    async def get_campaign(self, campaign_id: uuid.UUID) -> Campaign | None: ...

    async def campaign_by_slug(self, slug: str) -> Campaign | None: ...

    async def campaigns(self, req: PageRequest) -> Page[Campaign]: ...

    async def add_campaign_lead(self, submission: CampaignLead) -> None: ...

    async def get_campaign_lead(
        self, campaign_lead_id: uuid.UUID, *, lock: bool = False
    ) -> CampaignLead | None: ...

    async def settle_campaign_lead(
        self,
        campaign_lead_id: uuid.UUID,
        status: CampaignLeadStatus,
        reason: str | None,
        raw_lead_id: uuid.UUID | None,
    ) -> bool:
        """RECEIVED -> ``status``; False when it was no longer RECEIVED."""
        ...

    async def received_before(self, moment: datetime, limit: int) -> list[uuid.UUID]: ...

    async def campaign_leads(
        self,
        campaign_id: uuid.UUID | None,
        status: CampaignLeadStatus | None,
        req: PageRequest,
    ) -> Page[CampaignLead]: ...


class LeadRepository(LeadStore, LeadJournal, FollowUpStore, TagStore, CampaignStore, Protocol):
    """Everything the lead lifecycle persists, on one unit of work."""
