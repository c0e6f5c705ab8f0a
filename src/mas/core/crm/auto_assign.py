"""Auto-assignment of new pool leads: the head's strategy (round-robin or least-loaded) over
the active TELECALLERs of their team, passing over the unavailable and those at daily capacity.

Two doors: ``mas.lead.created`` (one lead) queues ``crm.auto_assign`` keyed by the lead, and
``mas.lead.imported`` (one event per CSV batch or vendor pull) queues ``crm.auto_assign_batch``
keyed by the batch, or ``crm.auto_assign_pull`` keyed by the vendor and the pull's start, which
walk the CREATED intakes 500 leads per transaction. Every door writes only while
``assigned_to`` is empty and advances the round-robin cursor in the same transaction.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from datetime import datetime

from mas.core.crm import notices
from mas.core.crm.assignment_access import record_changes
from mas.core.crm.assignment_model import (
    APPLY_CHUNK,
    AssignMethod,
    AutoStrategy,
    Candidate,
    MemberRole,
    Pick,
    SalesHeadProfile,
    Slot,
    SlotChange,
    assign_least_loaded,
    assign_round_robin,
)
from mas.core.crm.events import LeadCreated, LeadsImported
from mas.core.crm.model import OPEN
from mas.core.crm.ports.uow import CrmUnitOfWork
from mas.core.crm.targets_model import day_bounds, local_today
from mas.core.crm.tasks import (
    AUTO_ASSIGN,
    AUTO_ASSIGN_BATCH,
    AUTO_ASSIGN_PULL,
    BatchAutoAssign,
    LeadRef,
    PullAutoAssign,
)
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.messenger import Messenger
from mas.core.platform.ports.tasks import Enqueuer
from mas.core.platform.ports.uow import UnitOfWorkFactory

log = logging.getLogger("mas.crm")


class AutoAssigner:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory[CrmUnitOfWork],
        clock: Clock,
        jobs: Enqueuer,
        zone: str,
        messenger: Messenger,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._jobs = jobs
        self._zone = zone
        self._messenger = messenger

    async def _wanted(self, head_id: uuid.UUID | None) -> uuid.UUID | None:
        if head_id is None:
            return None
        async with self._uow() as uow:
            profile = await uow.head_profiles.get(head_id)
        return head_id if profile is not None and profile.auto_assign_enabled else None

    async def on_lead_created(self, event: LeadCreated) -> None:
        """``mas.lead.created``: queue auto-assign for an unassigned lead of such a pool."""
        if event.assigned_to is None and await self._wanted(event.owning_sales_head_id):
            await self._jobs.submit(AUTO_ASSIGN, LeadRef(event.lead_id))

    async def on_leads_imported(self, event: LeadsImported) -> None:
        """``mas.lead.imported``: queue auto-assign for the leads a CSV batch or a vendor pull
        created."""
        if not event.created:
            return
        head = await self._wanted(event.pool_head_id)
        if head is None:
            return
        if event.channel == "CSV" and event.batch_id:
            await self._jobs.submit(AUTO_ASSIGN_BATCH, BatchAutoAssign(head, event.batch_id))
        elif event.channel == "VENDOR" and event.vendor_key_id and event.started_at:
            vendor, started = event.vendor_key_id, event.started_at
            await self._jobs.submit(
                AUTO_ASSIGN_PULL,
                PullAutoAssign(head, vendor, started),
                key=f"{vendor}@{started.isoformat()}",
            )

    async def auto_assign(self, lead_id: uuid.UUID) -> SlotChange | None:
        """Give one new pool lead to a telecaller (only while it is unassigned)."""
        async with self._uow() as uow:
            lead = (await uow.assignments.lead_slots([lead_id])).get(lead_id)
            if lead is None or lead.owning_sales_head_id is None:
                return None
            changes = await self._assign(uow, lead.owning_sales_head_id, [lead_id])
            for change in changes:
                who = change.assignee_id
                person = (await uow.people.by_ids([who])).get(who) if who else None
                if person is not None:
                    await notices.leads_assigned(
                        self._messenger,
                        uow,
                        f"crm.auto:{lead_id}",
                        person,
                        1,
                        Slot.FIRST_LINE,
                        change.reason,
                    )
            await uow.commit()
        return changes[0] if changes else None

    async def assign_batch(self, head_id: uuid.UUID, batch_id: uuid.UUID) -> int:
        """Auto-assign the still unassigned leads a CSV batch created in ``head_id``'s pool; one
        notice per assignee for the batch."""
        return await self._assign_intakes(
            head_id,
            "CSV",
            f"crm.auto-batch:{batch_id}",
            f"New leads of import {batch_id}, handed out automatically.",
            ref_prefix=f"batch:{batch_id}:",
        )

    async def assign_pull(
        self, head_id: uuid.UUID, vendor_key_id: uuid.UUID, since: datetime
    ) -> int:
        """Auto-assign the still unassigned leads vendor pulls created in ``head_id``'s pool
        from ``since`` on; one notice per assignee for the pull."""
        return await self._assign_intakes(
            head_id,
            "VENDOR",
            f"crm.auto-pull:{vendor_key_id}@{since.isoformat()}",
            "New vendor leads, handed out automatically.",
            since=since,
        )

    async def _assign_intakes(
        self,
        head_id: uuid.UUID,
        channel: str,
        notice_key: str,
        notice_text: str,
        *,
        ref_prefix: str | None = None,
        since: datetime | None = None,
    ) -> int:
        per_assignee: Counter[uuid.UUID] = Counter()
        after: uuid.UUID | None = None
        while True:
            async with self._uow() as uow:
                ids = await uow.assignments.unassigned_intake_leads(
                    head_id, channel, after, APPLY_CHUNK, ref_prefix=ref_prefix, since=since
                )
                if not ids:
                    break
                after = ids[-1]
                changes = await self._assign(uow, head_id, ids)
                await uow.commit()
            per_assignee.update(c.assignee_id for c in changes if c.assignee_id)
            if len(ids) < APPLY_CHUNK:
                break
        if per_assignee:
            async with self._uow() as uow:
                people = await uow.people.by_ids(list(per_assignee))
                for who, count in per_assignee.items():
                    if who in people:
                        await notices.leads_assigned(
                            self._messenger,
                            uow,
                            f"{notice_key}:{who}",
                            people[who],
                            count,
                            Slot.FIRST_LINE,
                            notice_text,
                        )
                await uow.commit()
        return sum(per_assignee.values())

    async def _assign(
        self, uow: CrmUnitOfWork, head: uuid.UUID, lead_ids: list[uuid.UUID]
    ) -> list[SlotChange]:
        now = self._clock.now()
        leads = await uow.assignments.lead_slots(lead_ids, lock=True)
        wanted = [
            i
            for i in lead_ids
            if (lead := leads.get(i)) is not None
            and not lead.deleted
            and lead.assigned_to is None
            and lead.owning_sales_head_id == head
            and lead.status in OPEN
        ]
        profile = await uow.head_profiles.get(head, lock=True)  # serialises the cursor
        if not wanted or profile is None or not profile.auto_assign_enabled:
            return []
        candidates = await self._candidates(uow, head)
        picks, method = await self._pick(uow, profile, candidates, wanted)
        if len(picks) < len(wanted):
            log.info(
                "crm.auto_assign_nobody",
                extra={"head_id": str(head), "left_unassigned": len(wanted) - len(picks)},
            )
        claimed = await uow.assignments.claim_first_line(
            [(p.lead_id, p.assignee_id) for p in picks], now
        )
        await uow.head_profiles.save(profile)
        changes = [
            SlotChange(
                lead_id=p.lead_id,
                slot=Slot.FIRST_LINE,
                assignee_id=p.assignee_id,
                previous_assignee_id=None,
                method=method,
                reason=p.reason,
            )
            for p in picks
            if p.lead_id in claimed
        ]
        labels = {c.user_id: c.label for c in candidates}
        await record_changes(uow, changes, labels, now, write_leads=False)
        return changes

    async def _candidates(self, uow: CrmUnitOfWork, head: uuid.UUID) -> list[Candidate]:
        team = [
            m
            for m in await uow.teams.members(head, active_only=True)
            if m.member_role is MemberRole.TELECALLER
        ]
        since, _ = day_bounds(local_today(self._clock.now(), self._zone), self._zone)
        today = await uow.assignments.assigned_since([m.user_id for m in team], since)
        return [
            Candidate(
                user_id=m.user_id,
                label=m.name or str(m.user_id),
                available=m.available,
                daily_capacity=m.daily_capacity,
                assigned_today=today.get(m.user_id, 0),
            )
            for m in team
        ]

    async def _pick(
        self,
        uow: CrmUnitOfWork,
        profile: SalesHeadProfile,
        candidates: list[Candidate],
        leads: list[uuid.UUID],
    ) -> tuple[list[Pick], AssignMethod]:
        if profile.assignment_strategy is AutoStrategy.LEAST_LOADED:
            counts = await uow.assignments.open_lead_counts([c.user_id for c in candidates])
            return assign_least_loaded(candidates, counts, leads), AssignMethod.LEAST_LOADED
        picks, profile.rr_cursor = assign_round_robin(candidates, leads, profile.rr_cursor)
        return picks, AssignMethod.ROUND_ROBIN
