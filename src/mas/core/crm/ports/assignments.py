"""Persistence port of lead assignment: the two slots of a lead, its pool, and the history.

Lead rows are read and written here only through their pool and slot columns; the lead
repository owns everything else about a lead. Every write of a slot goes with a
``lead_assignments`` history row (see ``assignment_access.record_changes``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

from mas.core.crm.assignment_model import Assignment, LeadSlots, OwnershipTransfer, SlotChange
from mas.core.crm.model import Activity


class AssignmentRepository(Protocol):
    # --- slots of leads ---------------------------------------------------------------------
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

    # --- workload ---------------------------------------------------------------------------
    async def open_lead_counts(self, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
        """Open, live leads held in either slot, per user."""
        ...

    async def assigned_since(
        self, user_ids: list[uuid.UUID], since: datetime
    ) -> dict[uuid.UUID, int]:
        """First-line assignments each user received since ``since`` (daily capacity)."""
        ...

    # --- history ----------------------------------------------------------------------------
    async def add_assignments(self, rows: list[Assignment]) -> None: ...

    async def add_activities(self, rows: list[Activity]) -> None: ...

    async def add_transfer(self, transfer: OwnershipTransfer) -> None: ...
