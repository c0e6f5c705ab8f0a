"""Persistence port of the CRM (assignment, teams, targets, SystemConfig values).

Lead rows are read and written here only through their pool and slot columns; the lead
repository owns everything else about a lead.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Protocol

import msgspec

from mas.core.crm.assignment_model import (
    Assignment,
    BulkRequest,
    LeadSlots,
    OwnershipTransfer,
    Person,
    RequestStatus,
    SalesHeadProfile,
    SlotChange,
    TeamMember,
)
from mas.core.crm.model import Activity
from mas.core.crm.targets_model import ActivityFact, Actuals, DailyTarget
from mas.core.platform.paging import Page, PageRequest


class StoredConfig(msgspec.Struct, frozen=True):
    value: Any
    updated_at: datetime | None = None
    updated_by: uuid.UUID | None = None


class AssignmentRepository(Protocol):
    # --- SystemConfig ---------------------------------------------------------------------
    async def config_value(self, key: str) -> StoredConfig | None: ...

    async def set_config_value(
        self, key: str, value: Any, by: uuid.UUID, now: datetime
    ) -> None: ...

    # --- people, profiles, teams ------------------------------------------------------------
    async def people(self, ids: list[uuid.UUID]) -> dict[uuid.UUID, Person]:
        """The users with these ids (deleted ones included, marked not usable)."""
        ...

    async def profile(self, user_id: uuid.UUID, *, lock: bool = False) -> SalesHeadProfile | None:
        """``lock``: hold the row to the end of the transaction (the round-robin cursor)."""
        ...

    async def profiles(self) -> list[SalesHeadProfile]: ...

    async def add_profile(self, profile: SalesHeadProfile) -> None:
        """Raises ``DuplicateKey`` when the user has a profile."""
        ...

    async def save_profile(self, profile: SalesHeadProfile) -> None: ...

    async def member(self, member_id: uuid.UUID) -> TeamMember | None: ...

    async def membership_of(self, user_id: uuid.UUID) -> TeamMember | None:
        """The user's active membership, if any."""
        ...

    async def members(self, head_id: uuid.UUID | None, *, active_only: bool) -> list[TeamMember]:
        """A head's team (every team when None), oldest member first."""
        ...

    async def add_member(self, member: TeamMember) -> None:
        """Raises ``DuplicateKey`` when the user already has an active membership."""
        ...

    async def save_member(self, member: TeamMember) -> None: ...

    async def open_lead_counts(self, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
        """Open, live leads held in either slot, per user."""
        ...

    async def assigned_since(
        self, user_ids: list[uuid.UUID], since: datetime
    ) -> dict[uuid.UUID, int]:
        """First-line assignments each user received since ``since`` (daily capacity)."""
        ...

    # --- leads ------------------------------------------------------------------------------
    async def lead_slots(
        self, lead_ids: list[uuid.UUID], *, lock: bool = False
    ) -> dict[uuid.UUID, LeadSlots]:
        """Live and deleted leads with these ids; unknown ids are absent."""
        ...

    async def open_leads_held(self, user_id: uuid.UUID) -> list[LeadSlots]: ...

    async def apply_slot_changes(self, changes: list[SlotChange], now: datetime) -> None:
        """Write the new holders on the leads (bumping their version)."""
        ...

    async def claim_first_line(
        self, picks: list[tuple[uuid.UUID, uuid.UUID]], now: datetime
    ) -> set[uuid.UUID]:
        """Set ``assigned_to`` of each (lead, assignee) only while it is empty; returns the
        leads that were claimed (the others were taken meanwhile)."""
        ...

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
        """Open, unassigned leads of ``head_id``'s pool that an intake on ``channel`` created
        (its ``channel_ref`` starting with ``ref_prefix``, written at or after ``since``), by
        id, after ``after``."""
        ...

    async def move_to_pool(
        self, lead_ids: list[uuid.UUID], head_id: uuid.UUID, clear_assignees: bool, now: datetime
    ) -> None: ...

    async def add_assignments(self, rows: list[Assignment]) -> None: ...

    async def add_activities(self, rows: list[Activity]) -> None: ...

    async def add_transfer(self, transfer: OwnershipTransfer) -> None: ...

    # --- bulk requests ----------------------------------------------------------------------
    async def add_request(self, request: BulkRequest) -> None: ...

    async def request(self, request_id: uuid.UUID, *, lock: bool = False) -> BulkRequest | None: ...

    async def save_request(self, request: BulkRequest) -> None: ...

    async def requests_page(
        self, pool_head_id: uuid.UUID | None, status: RequestStatus | None, req: PageRequest
    ) -> Page[BulkRequest]:
        """Newest first; ``lead_ids`` are left empty on list items."""
        ...

    async def applied_leads(
        self, request_id: uuid.UUID, lead_ids: list[uuid.UUID]
    ) -> set[uuid.UUID]:
        """Which of these leads already have a history row of this request."""
        ...

    async def applied_per_assignee(self, request_id: uuid.UUID) -> dict[uuid.UUID, int]: ...

    async def expire_pending(self, request_id: uuid.UUID, now: datetime) -> bool:
        """PENDING -> EXPIRED if still PENDING and past ``expires_at``; False otherwise."""
        ...

    async def due_to_expire(self, now: datetime, limit: int) -> list[uuid.UUID]: ...

    async def idle_requests(self, before: datetime, limit: int) -> list[BulkRequest]:
        """APPROVED or APPLYING requests untouched since ``before`` (a lost apply run)."""
        ...

    # --- targets ----------------------------------------------------------------------------
    async def upsert_targets(self, rows: list[DailyTarget]) -> None: ...

    async def targets(
        self, person_ids: list[uuid.UUID] | None, start: date, end: date
    ) -> list[DailyTarget]:
        """Targets in [start, end] of these people (everyone's when None), by date then person."""
        ...

    async def stored_actuals(
        self, person_ids: list[uuid.UUID] | None, start: date, end: date
    ) -> list[Actuals]: ...

    async def upsert_actuals(self, rows: list[Actuals]) -> None: ...

    async def activity_facts(
        self, actor_ids: list[uuid.UUID] | None, start: datetime, end: datetime
    ) -> list[ActivityFact]:
        """Counted activities (see ``targets_model``) with an actor, in [start, end)."""
        ...

    async def people_with_targets(self, day: date) -> list[uuid.UUID]: ...
