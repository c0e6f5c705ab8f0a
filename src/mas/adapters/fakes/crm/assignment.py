"""Assignment in memory: slots and pools of leads, their history, bulk requests, sales-head
profiles, teams, the people directory, targets and ``system_config``.

As the SQL adapters do: every slot write bumps the lead's version, ``claim_first_line`` writes
only while the slot is empty, a user has one active membership and a head one profile
(``DuplicateKey``), a request's history row is unique per (request, lead, slot), and targets and
actuals are upserted on (salesperson, date).
"""

from __future__ import annotations

import copy
import uuid
from datetime import date, datetime
from typing import Any

from mas.adapters.fakes.crm.tables import Rows
from mas.core.crm.assignment_model import (
    Assignment,
    BulkRequest,
    LeadSlots,
    OwnershipTransfer,
    Person,
    RequestStatus,
    SalesHeadProfile,
    Slot,
    SlotChange,
    TeamMember,
)
from mas.core.crm.model import OPEN, Activity, Lead
from mas.core.crm.ports.system_config import StoredConfig
from mas.core.crm.targets_model import COUNTED_TYPES, ActivityFact, Actuals, DailyTarget
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.uow import DuplicateKey

_FROZEN = ("created_at", "lead_ids", "assignee_ids", "explicit_map")
"""What ``save`` of a bulk request never writes."""
_SLOT_COLUMN = {Slot.FIRST_LINE: "assigned_to", Slot.SECOND_LINE: "assigned_counsellor"}


def _slots(lead: Lead) -> LeadSlots:
    return LeadSlots(
        id=lead.id,
        status=lead.status,
        owning_sales_head_id=lead.owning_sales_head_id,
        assigned_to=lead.assigned_to,
        assigned_counsellor=lead.assigned_counsellor,
        deleted=lead.deleted_at is not None,
    )


def _live_open(lead: Lead) -> bool:
    return lead.deleted_at is None and lead.status in OPEN


class FakeAssignmentRepository(Rows):
    def _bump(self, lead: Lead, now: datetime) -> None:
        lead.version += 1
        lead.updated_at = now

    async def lead_slots(
        self, lead_ids: list[uuid.UUID], *, lock: bool = False
    ) -> dict[uuid.UUID, LeadSlots]:
        return {
            lead_id: _slots(lead)
            for lead_id in sorted(set(lead_ids))
            if (lead := self._t.leads.get(lead_id)) is not None
        }

    async def open_leads_held(self, user_id: uuid.UUID) -> list[LeadSlots]:
        held = [
            _slots(lead)
            for lead in self._t.leads.values()
            if _live_open(lead) and user_id in (lead.assigned_to, lead.assigned_counsellor)
        ]
        return sorted(held, key=lambda slots: slots.id)

    async def apply_slot_changes(self, changes: list[SlotChange], now: datetime) -> None:
        if changes:
            self._before_write()
        for change in changes:
            if (lead := self._t.leads.get(change.lead_id)) is not None:
                setattr(lead, _SLOT_COLUMN[change.slot], change.assignee_id)
                self._bump(lead, now)

    async def claim_first_line(
        self, picks: list[tuple[uuid.UUID, uuid.UUID]], now: datetime
    ) -> set[uuid.UUID]:
        claimed: set[uuid.UUID] = set()
        for lead_id, assignee in picks:
            lead = self._t.leads.get(lead_id)
            if lead is None or lead.deleted_at is not None or lead.assigned_to is not None:
                continue
            self._before_write()
            lead.assigned_to = assignee
            self._bump(lead, now)
            claimed.add(lead_id)
        return claimed

    async def unassigned_intake_leads(
        self,
        head_id: uuid.UUID,
        channel: str,
        after: uuid.UUID | None,
        limit: int,
        *,
        ref_prefix: str | None = None,
        since: datetime | None = None,
    ) -> list[uuid.UUID]:
        created = {
            intake.raw_lead_id
            for intake in self._t.intakes
            if intake.channel.value == channel
            and intake.outcome.value == "CREATED"
            and (ref_prefix is None or intake.channel_ref.startswith(ref_prefix))
            and (since is None or intake.created_at >= since)
        }
        found = sorted(
            lead_id
            for lead_id in created
            if (lead := self._t.leads.get(lead_id)) is not None
            and _live_open(lead)
            and lead.owning_sales_head_id == head_id
            and lead.assigned_to is None
            and (after is None or lead_id > after)
        )
        return found[:limit]

    async def move_to_pool(
        self, lead_ids: list[uuid.UUID], head_id: uuid.UUID, clear_assignees: bool, now: datetime
    ) -> None:
        self._before_write()
        for lead_id in lead_ids:
            if (lead := self._t.leads.get(lead_id)) is not None:
                lead.owning_sales_head_id = head_id
                if clear_assignees:
                    lead.assigned_to = lead.assigned_counsellor = None
                self._bump(lead, now)

    async def open_lead_counts(self, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
        wanted = set(user_ids)
        counts: dict[uuid.UUID, int] = {}
        for lead in self._t.leads.values():
            if not _live_open(lead):
                continue
            for holder in {lead.assigned_to, lead.assigned_counsellor} & wanted:
                assert holder is not None
                counts[holder] = counts.get(holder, 0) + 1
        return counts

    async def assigned_since(
        self, user_ids: list[uuid.UUID], since: datetime
    ) -> dict[uuid.UUID, int]:
        wanted = set(user_ids)
        counts: dict[uuid.UUID, int] = {}
        for row in self._t.assignments:
            who = row.assignee_id
            if who in wanted and row.slot is Slot.FIRST_LINE and row.created_at >= since:
                assert who is not None
                counts[who] = counts.get(who, 0) + 1
        return counts

    async def add_assignments(self, rows: list[Assignment]) -> None:
        taken: set[tuple[uuid.UUID | None, uuid.UUID, Slot]] = {
            (row.request_id, row.raw_lead_id, row.slot)
            for row in self._t.assignments
            if row.request_id is not None
        }
        for row in rows:
            key = (row.request_id, row.raw_lead_id, row.slot)
            if row.request_id is not None and key in taken:
                raise DuplicateKey(f"assignment of {row.raw_lead_id} by request {row.request_id}")
            taken.add(key)
        if rows:
            self._before_write()
            self._t.assignments.extend(rows)

    async def add_activities(self, rows: list[Activity]) -> None:
        if rows:
            self._before_write()
            self._t.activities.extend(rows)

    async def add_transfer(self, transfer: OwnershipTransfer) -> None:
        self._before_write()
        self._t.transfers.append(transfer)


class FakeBulkRequestRepository(Rows):
    async def add(self, request: BulkRequest) -> None:
        if request.id in self._t.requests:
            raise DuplicateKey(f"request {request.id}")
        self._before_write()
        self._t.requests[request.id] = copy.deepcopy(request)

    async def get(self, request_id: uuid.UUID, *, lock: bool = False) -> BulkRequest | None:
        return copy.deepcopy(self._t.requests.get(request_id))

    async def save(self, request: BulkRequest) -> None:
        stored = self._t.requests.get(request.id)
        if stored is None:
            return
        self._before_write()
        frozen = {name: getattr(stored, name) for name in _FROZEN}
        self._t.requests[request.id] = copy.deepcopy(request)
        for name, value in frozen.items():
            setattr(self._t.requests[request.id], name, value)

    async def page(
        self, pool_head_id: uuid.UUID | None, status: RequestStatus | None, req: PageRequest
    ) -> Page[BulkRequest]:
        found = sorted(
            (
                r
                for r in self._t.requests.values()
                if (pool_head_id is None or r.pool_head_id == pool_head_id)
                and (status is None or r.status is status)
            ),
            key=lambda r: (r.created_at, r.id),
            reverse=True,
        )
        items = copy.deepcopy(found[req.offset : req.offset + req.page_size])
        for item in items:
            item.lead_ids = []
        return Page(items=items, total=len(found), page=req.page, page_size=req.page_size)

    async def applied_leads(
        self, request_id: uuid.UUID, lead_ids: list[uuid.UUID]
    ) -> set[uuid.UUID]:
        wanted = set(lead_ids)
        return {
            row.raw_lead_id
            for row in self._t.assignments
            if row.request_id == request_id and row.raw_lead_id in wanted
        }

    async def applied_per_assignee(self, request_id: uuid.UUID) -> dict[uuid.UUID, int]:
        counts: dict[uuid.UUID, int] = {}
        for row in self._t.assignments:
            if row.request_id == request_id and row.assignee_id is not None:
                counts[row.assignee_id] = counts.get(row.assignee_id, 0) + 1
        return counts

    async def expire_pending(self, request_id: uuid.UUID, now: datetime) -> bool:
        stored = self._t.requests.get(request_id)
        if stored is None or stored.status is not RequestStatus.PENDING or stored.expires_at > now:
            return False
        self._before_write()
        stored.status = RequestStatus.EXPIRED
        stored.decided_at = stored.updated_at = now
        return True

    async def due_to_expire(self, now: datetime, limit: int) -> list[uuid.UUID]:
        due = sorted(
            (
                r
                for r in self._t.requests.values()
                if r.status is RequestStatus.PENDING and r.expires_at <= now
            ),
            key=lambda r: r.expires_at,
        )
        return [r.id for r in due[:limit]]

    async def idle(self, before: datetime, limit: int) -> list[BulkRequest]:
        waiting = (RequestStatus.APPROVED, RequestStatus.APPLYING)
        found = sorted(
            (r for r in self._t.requests.values() if r.status in waiting and r.updated_at < before),
            key=lambda r: r.updated_at,
        )
        return copy.deepcopy(found[:limit])


class FakeHeadProfileRepository(Rows):
    async def get(self, user_id: uuid.UUID, *, lock: bool = False) -> SalesHeadProfile | None:
        return copy.deepcopy(self._t.profiles.get(user_id))

    async def all(self) -> list[SalesHeadProfile]:
        return copy.deepcopy(sorted(self._t.profiles.values(), key=lambda p: p.display_name))

    async def add(self, profile: SalesHeadProfile) -> None:
        if profile.user_id in self._t.profiles:
            raise DuplicateKey(f"sales head profile {profile.user_id}")
        self._before_write()
        self._t.profiles[profile.user_id] = copy.deepcopy(profile)

    async def save(self, profile: SalesHeadProfile) -> None:
        stored = self._t.profiles.get(profile.user_id)
        if stored is None:
            return
        self._before_write()
        created_at = stored.created_at
        self._t.profiles[profile.user_id] = copy.deepcopy(profile)
        self._t.profiles[profile.user_id].created_at = created_at


class FakeTeamRepository(Rows):
    def _out(self, member: TeamMember) -> TeamMember:
        found = copy.deepcopy(member)
        user = self._store.users.get(member.user_id)
        found.name = (user.full_name or user.email) if user is not None else ""
        return found

    async def member(self, member_id: uuid.UUID) -> TeamMember | None:
        found = self._t.members.get(member_id)
        return self._out(found) if found else None

    async def membership_of(self, user_id: uuid.UUID) -> TeamMember | None:
        found = next(
            (m for m in self._t.members.values() if m.user_id == user_id and m.active), None
        )
        return self._out(found) if found else None

    async def members(self, head_id: uuid.UUID | None, *, active_only: bool) -> list[TeamMember]:
        found = [
            m
            for m in self._t.members.values()
            if (head_id is None or m.sales_head_id == head_id) and (m.active or not active_only)
        ]
        return [self._out(m) for m in sorted(found, key=lambda m: (m.joined_at, m.id))]

    async def add_member(self, member: TeamMember) -> None:
        if member.id in self._t.members or (
            member.active
            and any(m.user_id == member.user_id and m.active for m in self._t.members.values())
        ):
            raise DuplicateKey(f"active membership of {member.user_id}")
        self._before_write()
        self._t.members[member.id] = copy.deepcopy(member)
        self._t.members[member.id].name = ""  # read from the user

    async def save_member(self, member: TeamMember) -> None:
        stored = self._t.members.get(member.id)
        if stored is None:
            return
        self._before_write()
        stored.member_role, stored.daily_capacity = member.member_role, member.daily_capacity
        stored.available, stored.active, stored.left_at = (
            member.available,
            member.active,
            member.left_at,
        )


class FakePeopleDirectory(Rows):
    async def by_ids(self, ids: list[uuid.UUID]) -> dict[uuid.UUID, Person]:
        found: dict[uuid.UUID, Person] = {}
        for user_id in dict.fromkeys(ids):
            user = self._store.users.get(user_id)
            if user is not None:
                found[user_id] = Person(
                    id=user.id,
                    email=user.email,
                    role=user.role,
                    name=user.full_name,
                    usable=not user.is_deleted and not user.is_blocked,
                )
        return found


class FakeTargetRepository(Rows):
    async def upsert(self, rows: list[DailyTarget]) -> None:
        self._before_write()
        for row in rows:
            key = (row.salesperson_id, row.target_date)
            stored = self._t.targets.get(key)
            fresh = copy.deepcopy(row)
            if stored is not None:  # the conflict keeps the stored row's id and creation
                fresh.id, fresh.created_at = stored.id, stored.created_at
            self._t.targets[key] = fresh

    async def in_range(
        self, person_ids: list[uuid.UUID] | None, start: date, end: date
    ) -> list[DailyTarget]:
        found = [
            t
            for (person, day), t in self._t.targets.items()
            if start <= day <= end and (person_ids is None or person in person_ids)
        ]
        return copy.deepcopy(sorted(found, key=lambda t: (t.target_date, str(t.salesperson_id))))

    async def stored_actuals(
        self, person_ids: list[uuid.UUID] | None, start: date, end: date
    ) -> list[Actuals]:
        return copy.deepcopy(
            [
                a
                for (person, day), a in self._t.actuals.items()
                if start <= day <= end and (person_ids is None or person in person_ids)
            ]
        )

    async def upsert_actuals(self, rows: list[Actuals]) -> None:
        self._before_write()
        for row in rows:
            self._t.actuals[(row.salesperson_id, row.target_date)] = copy.deepcopy(row)

    async def activity_facts(
        self, actor_ids: list[uuid.UUID] | None, start: datetime, end: datetime
    ) -> list[ActivityFact]:
        return [
            ActivityFact(
                actor_id=a.actor_id,
                raw_lead_id=a.raw_lead_id,
                type=a.type,
                occurred_at=a.occurred_at,
                data=copy.deepcopy(a.data),
            )
            for a in self._t.activities
            if a.actor_id is not None
            and a.type in COUNTED_TYPES
            and start <= a.occurred_at < end
            and (actor_ids is None or a.actor_id in actor_ids)
        ]

    async def people_with_targets(self, day: date) -> list[uuid.UUID]:
        return list(dict.fromkeys(person for person, on in self._t.targets if on == day))


class FakeSystemConfigRepository(Rows):
    async def get(self, key: str) -> StoredConfig | None:
        return copy.deepcopy(self._t.config.get(key))

    async def put(self, key: str, value: Any, by: uuid.UUID, now: datetime) -> None:
        self._before_write()
        self._t.config[key] = StoredConfig(copy.deepcopy(value), now, by)
