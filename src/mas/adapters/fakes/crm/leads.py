"""The lead lifecycle in memory: leads in scope, the journal, follow-ups, tags, campaigns.

As ``mas.adapters.db.crm.leads`` does: a ``LeadScope`` and a ``LeadFilter`` are one predicate
(``reaches``), lists run newest first by (created_at, id), a live lead holds its phone alone
(and, without a phone, its email), the version check guards every save, and the journal is
append-only.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from mas.adapters.fakes.crm.tables import CrmTables, Rows
from mas.core.crm.assignment_model import Assignment, AssignMethod, Slot
from mas.core.crm.model import (
    Activity,
    Campaign,
    CampaignLead,
    CampaignLeadStatus,
    FollowUp,
    FollowUpStatus,
    IncomingLead,
    IntakeChannel,
    Lead,
    LeadIntake,
    Tag,
)
from mas.core.crm.queries import COUNT_CAP, FollowUpItem, LeadFilter, LeadSlice
from mas.core.crm.scope import LeadScope, ScopeKind
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.uow import DuplicateKey

EDITABLE = (
    *(name for name in IncomingLead.__struct_fields__ if name != "tags"),
    "status",
    "lost_reason",
    "conversion_ref",
    "reinquiry_count",
)
"""What ``save`` writes (the SQL adapter's list): what an intake brings, and the state."""
OPEN_FOLLOW_UPS = (FollowUpStatus.PENDING, FollowUpStatus.MISSED)


def in_scope(lead: Lead, scope: LeadScope, *, write: bool = False) -> bool:
    if scope.kind is ScopeKind.ALL:
        return True
    if scope.kind is ScopeKind.POOL:
        return (scope.read_all_pools and not write) or lead.owning_sales_head_id == scope.user_id
    if scope.kind is ScopeKind.ASSIGNED:
        return scope.user_id is not None and scope.user_id in (
            lead.assigned_to,
            lead.assigned_counsellor,
        )
    return False


def _text_match(lead: Lead, q: str) -> bool:
    if q in lead.name.lower() or (lead.email is not None and q in lead.email):
        return True
    digits = "".join(ch for ch in q if ch.isdigit())
    return len(digits) >= 4 and any(digits in (p or "") for p in (lead.phone_e164, lead.phone_alt))


def passes(tables: CrmTables, lead: Lead, flt: LeadFilter) -> bool:
    """The SQL adapter's ``filter_clauses``, one lead at a time."""
    if flt.statuses and lead.status not in flt.statuses:
        return False
    if flt.tag and flt.tag.strip().lower() not in tables.tag_names(lead.id):
        return False
    if flt.q and flt.q.strip() and not _text_match(lead, flt.q.strip().lower()):
        return False
    due = flt.follow_up_due_before
    if due is not None and (lead.next_follow_up_at is None or lead.next_follow_up_at >= due):
        return False
    if (flt.unassigned and lead.assigned_to is not None) or (
        flt.assigned_to is not None and lead.assigned_to != flt.assigned_to
    ):
        return False
    if flt.source is not None and lead.source is not flt.source:
        return False
    if flt.pool is not None and lead.owning_sales_head_id != flt.pool:
        return False
    if flt.created_from is not None and lead.created_at < flt.created_from:
        return False
    return flt.created_before is None or lead.created_at < flt.created_before


def find_match(
    tables: CrmTables, phone: str | None, phone_alt: str | None, email: str | None
) -> Lead | None:
    """The earliest live lead by phone, then the phone as an alternate, then the alternate
    phone, then the email (the row, not a copy: callers copy what they hand out)."""
    tries: list[tuple[str, str]] = []
    if phone:
        tries += [("phone_e164", phone), ("phone_alt", phone)]
    if phone_alt:
        tries.append(("phone_e164", phone_alt))
    if email:
        tries.append(("email", email))
    live = sorted(
        (lead for lead in tables.leads.values() if lead.deleted_at is None),
        key=lambda lead: (lead.created_at, lead.id),
    )
    for column, value in tries:
        found = next((lead for lead in live if getattr(lead, column) == value), None)
        if found is not None:
            return found
    return None


def check_unique(tables: CrmTables, lead: Lead) -> None:
    """The partial unique indexes: one live lead per phone; per email among leads without one."""
    for other in tables.leads.values():
        if other.id == lead.id or other.deleted_at is not None:
            continue
        if lead.phone_e164 is not None and other.phone_e164 == lead.phone_e164:
            raise DuplicateKey(f"lead {lead.phone_e164}")
        if (
            lead.phone_e164 is None
            and other.phone_e164 is None
            and lead.email is not None
            and other.email == lead.email
        ):
            raise DuplicateKey(f"lead {lead.email}")


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _newest_first(leads: list[Lead]) -> list[Lead]:
    return sorted(leads, key=lambda lead: (lead.created_at, lead.id), reverse=True)


class FakeLeadStore(Rows):
    def _reached(self, scope: LeadScope, flt: LeadFilter) -> list[Lead]:
        return [
            lead
            for lead in self._t.leads.values()
            if lead.deleted_at is None and in_scope(lead, scope) and passes(self._t, lead, flt)
        ]

    async def get(
        self, lead_id: uuid.UUID, scope: LeadScope, *, write: bool = False, lock: bool = False
    ) -> Lead | None:
        lead = self._t.leads.get(lead_id)
        if lead is None or lead.deleted_at is not None or not in_scope(lead, scope, write=write):
            return None
        return self._t.lead_out(lead)

    async def find_match(
        self, phone: str | None, phone_alt: str | None, email: str | None
    ) -> Lead | None:
        found = find_match(self._t, phone, phone_alt, email)
        return self._t.lead_out(found) if found else None

    async def add(self, lead: Lead) -> None:
        if lead.id in self._t.leads:
            raise DuplicateKey(f"lead {lead.id}")
        check_unique(self._t, lead)
        self._before_write()
        self._t.leads[lead.id] = copy.deepcopy(lead)
        self._t.leads[lead.id].tags = []  # tags live in ``taggings``

    async def save(self, lead: Lead) -> bool:
        stored = self._t.leads.get(lead.id)
        if stored is None or stored.deleted_at is not None or stored.version != lead.version:
            return False
        check_unique(self._t, lead)
        self._before_write()
        for name in EDITABLE:
            setattr(stored, name, copy.deepcopy(getattr(lead, name)))
        stored.version += 1
        stored.updated_at = self._now()
        lead.version, lead.updated_at = stored.version, stored.updated_at
        return True

    async def page(
        self,
        scope: LeadScope,
        flt: LeadFilter,
        req: PageRequest,
        *,
        after: tuple[datetime, uuid.UUID] | None = None,
        count: bool = True,
    ) -> LeadSlice:
        found = _newest_first(self._reached(scope, flt))
        if after is not None:
            rest = [lead for lead in found if (_aware(lead.created_at), lead.id) < after]
        else:
            rest = found[req.offset :]
        items = [self._t.lead_out(lead) for lead in rest[: req.page_size + 1]]
        if not count:
            return LeadSlice(items)
        return LeadSlice(items, min(len(found), COUNT_CAP), len(found) > COUNT_CAP)

    async def count(self, scope: LeadScope, flt: LeadFilter, cap: int) -> int:
        return min(len(self._reached(scope, flt)), cap + 1)

    async def export_batch(
        self,
        scope: LeadScope,
        flt: LeadFilter,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> list[Lead]:
        found = sorted(self._reached(scope, flt), key=lambda lead: (lead.created_at, lead.id))
        if after is not None:
            found = [lead for lead in found if (lead.created_at, lead.id) > after]
        return [self._t.lead_out(lead) for lead in found[:limit]]

    async def in_scope(
        self, scope: LeadScope, lead_ids: Sequence[uuid.UUID], *, write: bool
    ) -> list[uuid.UUID]:
        return [
            lead_id
            for lead_id in lead_ids
            if (lead := self._t.leads.get(lead_id)) is not None
            and lead.deleted_at is None
            and in_scope(lead, scope, write=write)
        ]

    async def soft_delete(self, lead_id: uuid.UUID, now: datetime) -> bool:
        lead = self._t.leads.get(lead_id)
        if lead is None or lead.deleted_at is not None:
            return False
        self._before_write()
        lead.deleted_at = lead.updated_at = now
        lead.version += 1
        return True

    async def refresh_next_follow_up(self, lead_ids: Sequence[uuid.UUID]) -> None:
        self._before_write()
        for lead_id in lead_ids:
            if (lead := self._t.leads.get(lead_id)) is not None:
                due = [
                    f.due_at
                    for f in self._t.follow_ups.values()
                    if f.raw_lead_id == lead_id and f.status is FollowUpStatus.PENDING
                ]
                lead.next_follow_up_at = min(due, default=None)

    async def funnel(
        self, scope: LeadScope, flt: LeadFilter
    ) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
        by_status: dict[str, int] = {}
        by_source: dict[str, int] = {}
        by_tag: dict[str, int] = {}
        for lead in self._reached(scope, flt):
            by_status[lead.status.value] = by_status.get(lead.status.value, 0) + 1
            by_source[lead.source.value] = by_source.get(lead.source.value, 0) + 1
            for name in self._t.tag_names(lead.id):
                by_tag[name] = by_tag.get(name, 0) + 1
        return by_status, by_source, by_tag

    async def isolation_enabled(self, head_id: uuid.UUID) -> bool:
        profile = self._t.profiles.get(head_id)
        return True if profile is None else profile.isolation_enabled

    async def head_of(self, user_id: uuid.UUID) -> uuid.UUID | None:
        return next(
            (
                m.sales_head_id
                for m in self._t.members.values()
                if m.user_id == user_id and m.active
            ),
            None,
        )

    async def record_self_assignment(
        self, lead_id: uuid.UUID, assignee_id: uuid.UUID, reason: str, now: datetime
    ) -> None:
        self._before_write()
        self._t.assignments.append(
            Assignment(
                id=uuid7(),
                raw_lead_id=lead_id,
                slot=Slot.FIRST_LINE,
                method=AssignMethod.MANUAL,
                reason=reason,
                created_at=now,
                assignee_id=assignee_id,
                assigned_by=assignee_id,
            )
        )


class FakeLeadJournal(Rows):
    async def add_intake(self, intake: LeadIntake) -> None:
        if any(
            (i.channel, i.channel_ref) == (intake.channel, intake.channel_ref)
            for i in self._t.intakes
        ):
            raise DuplicateKey(f"intake {intake.channel.value}:{intake.channel_ref}")
        self._before_write()
        self._t.intakes.append(intake)

    async def intake_by_ref(self, channel: IntakeChannel, channel_ref: str) -> LeadIntake | None:
        ref = channel_ref[:100]
        return next(
            (i for i in self._t.intakes if (i.channel, i.channel_ref) == (channel, ref)), None
        )

    async def intakes_of(self, lead_id: uuid.UUID) -> list[LeadIntake]:
        found = [i for i in self._t.intakes if i.raw_lead_id == lead_id]
        return sorted(found, key=lambda i: (i.created_at, i.id))

    async def append(self, *activities: Activity) -> None:
        if not activities:
            return
        self._before_write()
        self._t.activities.extend(activities)
        for line in activities:
            lead = self._t.leads.get(line.raw_lead_id)
            if lead is not None and (
                lead.last_activity_at is None or lead.last_activity_at < line.occurred_at
            ):
                lead.last_activity_at = line.occurred_at

    def _newest(
        self, lines: list[Activity], before: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[Activity]:
        if before is not None:
            lines = [a for a in lines if (a.occurred_at, a.id) < before]
        return sorted(lines, key=lambda a: (a.occurred_at, a.id), reverse=True)[:limit]

    async def timeline(
        self, lead_id: uuid.UUID, before: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[Activity]:
        return self._newest(
            [a for a in self._t.activities if a.raw_lead_id == lead_id], before, limit
        )

    async def feed(
        self, actor_id: uuid.UUID, before: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[Activity]:
        return self._newest(
            [a for a in self._t.activities if a.actor_id == actor_id], before, limit
        )


class FakeFollowUpStore(Rows):
    async def add_follow_up(self, follow_up: FollowUp) -> None:
        if follow_up.id in self._t.follow_ups:
            raise DuplicateKey(f"follow-up {follow_up.id}")
        self._before_write()
        self._t.follow_ups[follow_up.id] = copy.deepcopy(follow_up)

    async def get_follow_up(self, follow_up_id: uuid.UUID) -> FollowUp | None:
        return copy.deepcopy(self._t.follow_ups.get(follow_up_id))

    async def save_follow_up(self, follow_up: FollowUp, was: FollowUpStatus) -> bool:
        stored = self._t.follow_ups.get(follow_up.id)
        if stored is None or stored.status is not was:
            return False
        self._before_write()
        stored.status, stored.due_at = follow_up.status, follow_up.due_at
        stored.outcome_note, stored.completed_at = follow_up.outcome_note, follow_up.completed_at
        return True

    def _by_due(self, found: list[FollowUp]) -> list[FollowUp]:
        return sorted(found, key=lambda f: (f.due_at, f.id))

    async def open_follow_ups(self, lead_id: uuid.UUID) -> list[FollowUp]:
        found = [
            f
            for f in self._t.follow_ups.values()
            if f.raw_lead_id == lead_id and f.status in OPEN_FOLLOW_UPS
        ]
        return copy.deepcopy(self._by_due(found))

    def _of_live_lead(self, follow_up: FollowUp) -> Lead | None:
        lead = self._t.leads.get(follow_up.raw_lead_id)
        return lead if lead is not None and lead.deleted_at is None else None

    async def agenda(
        self,
        owner_id: uuid.UUID,
        statuses: Sequence[FollowUpStatus],
        due_from: datetime | None,
        due_before: datetime,
        limit: int,
    ) -> list[FollowUpItem]:
        items = []
        for f in self._by_due(list(self._t.follow_ups.values())):
            lead = self._of_live_lead(f)
            if (
                lead is None
                or f.owner_id != owner_id
                or f.status not in statuses
                or f.due_at >= due_before
                or (due_from is not None and f.due_at < due_from)
            ):
                continue
            fields = {name: getattr(f, name) for name in f.__struct_fields__}
            items.append(FollowUpItem(**fields, lead_name=lead.name, lead_phone=lead.phone_e164))
        return copy.deepcopy(items[:limit])

    async def mark_missed(self, due_before: datetime, now: datetime, limit: int) -> list[FollowUp]:
        due = [
            f
            for f in self._by_due(list(self._t.follow_ups.values()))
            if f.status is FollowUpStatus.PENDING and f.due_at < due_before
        ][:limit]
        if due:
            self._before_write()
        for follow_up in due:
            follow_up.status = FollowUpStatus.MISSED
        return copy.deepcopy(due)

    async def owners_due(self, due_from: datetime, due_before: datetime) -> list[uuid.UUID]:
        owners = {
            f.owner_id
            for f in self._t.follow_ups.values()
            if f.status in OPEN_FOLLOW_UPS
            and due_from <= f.due_at < due_before
            and self._of_live_lead(f) is not None
        }
        return sorted(owners)

    async def cancel_open_follow_ups(self, lead_id: uuid.UUID, now: datetime) -> int:
        pending = [
            f
            for f in self._t.follow_ups.values()
            if f.raw_lead_id == lead_id and f.status is FollowUpStatus.PENDING
        ]
        if pending:
            self._before_write()
        for follow_up in pending:
            follow_up.status = FollowUpStatus.CANCELLED
        return len(pending)


class FakeTagStore(Rows):
    def _check_name(self, tag: Tag) -> None:
        if any(t.name == tag.name and t.id != tag.id for t in self._t.tags.values()):
            raise DuplicateKey(f"tag {tag.name}")

    async def tags(self) -> list[Tag]:
        live = [t for t in self._t.tags.values() if t.deleted_at is None]
        return copy.deepcopy(sorted(live, key=lambda t: t.name))

    async def get_tag(self, tag_id: uuid.UUID) -> Tag | None:
        return copy.deepcopy(self._t.tags.get(tag_id))

    async def tag_by_name(self, name: str) -> Tag | None:
        return copy.deepcopy(next((t for t in self._t.tags.values() if t.name == name), None))

    async def tags_named(self, names: Sequence[str]) -> list[Tag]:
        wanted = set(names)
        return copy.deepcopy(
            [t for t in self._t.tags.values() if t.name in wanted and t.deleted_at is None]
        )

    async def add_tag(self, tag: Tag) -> None:
        if tag.id in self._t.tags:
            raise DuplicateKey(f"tag {tag.id}")
        self._check_name(tag)
        self._before_write()
        self._t.tags[tag.id] = copy.deepcopy(tag)

    async def save_tag(self, tag: Tag) -> None:
        if tag.id not in self._t.tags:
            return
        self._check_name(tag)
        self._before_write()
        self._t.tags[tag.id] = copy.deepcopy(tag)

    async def attach_tags(
        self,
        lead_ids: Sequence[uuid.UUID],
        tag_ids: Sequence[uuid.UUID],
        by: uuid.UUID | None,
        now: datetime,
    ) -> list[tuple[uuid.UUID, uuid.UUID]]:
        missing = [
            (lead, tag)
            for lead in lead_ids
            for tag in tag_ids
            if (lead, tag) not in self._t.taggings
        ]
        if missing:
            self._before_write()
            self._t.taggings.update(missing)
        return missing

    async def detach_tags(
        self, lead_ids: Sequence[uuid.UUID], tag_ids: Sequence[uuid.UUID]
    ) -> list[tuple[uuid.UUID, uuid.UUID]]:
        present = sorted(
            (lead, tag) for lead in lead_ids for tag in tag_ids if (lead, tag) in self._t.taggings
        )
        if present:
            self._before_write()
            self._t.taggings.difference_update(present)
        return present


class FakeCampaignStore(Rows):
    def _check_slug(self, campaign: Campaign) -> None:
        if any(c.slug == campaign.slug and c.id != campaign.id for c in self._t.campaigns.values()):
            raise DuplicateKey(f"campaign {campaign.slug}")

    async def add_campaign(self, campaign: Campaign) -> None:
        if campaign.id in self._t.campaigns:
            raise DuplicateKey(f"campaign {campaign.id}")
        self._check_slug(campaign)
        self._before_write()
        self._t.campaigns[campaign.id] = copy.deepcopy(campaign)

    async def save_campaign(self, campaign: Campaign) -> None:
        stored = self._t.campaigns.get(campaign.id)
        if stored is None:
            return
        self._check_slug(campaign)
        self._before_write()
        fixed = {"id", "created_at", "created_by"}
        for name in campaign.__struct_fields__:
            if name not in fixed:
                setattr(stored, name, copy.deepcopy(getattr(campaign, name)))

    async def get_campaign(self, campaign_id: uuid.UUID) -> Campaign | None:
        return copy.deepcopy(self._t.campaigns.get(campaign_id))

    async def campaign_by_slug(self, slug: str) -> Campaign | None:
        found = next((c for c in self._t.campaigns.values() if c.slug == slug), None)
        return copy.deepcopy(found)

    async def campaigns(self, req: PageRequest) -> Page[Campaign]:
        found = sorted(self._t.campaigns.values(), key=lambda c: (c.created_at, c.id), reverse=True)
        items = copy.deepcopy(found[req.offset : req.offset + req.page_size])
        return Page(items=items, total=len(found), page=req.page, page_size=req.page_size)

    async def add_campaign_lead(self, submission: CampaignLead) -> None:
        if submission.id in self._t.campaign_leads:
            raise DuplicateKey(f"campaign lead {submission.id}")
        self._before_write()
        self._t.campaign_leads[submission.id] = copy.deepcopy(submission)

    async def get_campaign_lead(
        self, campaign_lead_id: uuid.UUID, *, lock: bool = False
    ) -> CampaignLead | None:
        return copy.deepcopy(self._t.campaign_leads.get(campaign_lead_id))

    async def settle_campaign_lead(
        self,
        campaign_lead_id: uuid.UUID,
        status: CampaignLeadStatus,
        reason: str | None,
        raw_lead_id: uuid.UUID | None,
    ) -> bool:
        stored = self._t.campaign_leads.get(campaign_lead_id)
        if stored is None or stored.status is not CampaignLeadStatus.RECEIVED:
            return False
        self._before_write()
        stored.status, stored.reject_reason, stored.raw_lead_id = status, reason, raw_lead_id
        return True

    async def received_before(self, moment: datetime, limit: int) -> list[uuid.UUID]:
        found = sorted(
            (
                s
                for s in self._t.campaign_leads.values()
                if s.status is CampaignLeadStatus.RECEIVED and s.created_at < moment
            ),
            key=lambda s: s.created_at,
        )
        return [s.id for s in found[:limit]]

    async def campaign_leads(
        self,
        campaign_id: uuid.UUID | None,
        status: CampaignLeadStatus | None,
        req: PageRequest,
    ) -> Page[CampaignLead]:
        found = sorted(
            (
                s
                for s in self._t.campaign_leads.values()
                if (campaign_id is None or s.campaign_id == campaign_id)
                and (status is None or s.status is status)
            ),
            key=lambda s: (s.created_at, s.id),
            reverse=True,
        )
        items = copy.deepcopy(found[req.offset : req.offset + req.page_size])
        return Page(items=items, total=len(found), page=req.page, page_size=req.page_size)


class FakeLeadRepository(
    FakeLeadStore, FakeLeadJournal, FakeFollowUpStore, FakeTagStore, FakeCampaignStore
):
    """``uow.leads``: every store of the lead lifecycle over one ``CrmStore``."""
