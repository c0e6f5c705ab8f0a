"""What the engine writes of the CRM's leads: ``uow.workflow_leads``.

The lead's journal gets a ``WORKFLOW_STEP`` line per step (``last_activity_at`` is left alone:
an automated nurture step is not the lead's activity, and a "no activity for n days" segment
must not be kept fresh by the workflow that targets it). An ``update_lead`` node changes tags and
status through the CRM's own store and rules (``check_transition``, the journal lines, the
``LeadStatusChanged`` event) in the step's transaction, acting as the system: re-running the
same change finds the tags present and the status reached, and changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mas.adapters.db.crm.journal import table
from mas.adapters.db.crm.leads import SqlLeadRepository
from mas.adapters.db.crm.tables import LeadTagRow, RawLeadTagRow
from mas.adapters.db.identity.tables import UserRow
from mas.core.crm.events import LeadStatusChanged
from mas.core.crm.model import (
    ActivityType,
    LeadStatus,
    StatusChange,
    activity,
    apply_transition,
    check_transition,
)
from mas.core.crm.scope import SYSTEM_SCOPE
from mas.core.platform.errors import NotFound
from mas.core.platform.events import DomainEvent
from mas.core.workflow.runs.model import LeadChange

TAGS = table(LeadTagRow)
TAGGINGS = table(RawLeadTagRow)
USERS = table(UserRow)
WORKFLOW_REASON = "Set by a workflow"


class SqlWorkflowLeads:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def tags(self, lead_id: uuid.UUID) -> list[str]:
        rows = await self._s.scalars(
            select(TAGS.c.name)
            .join(TAGGINGS, TAGGINGS.c.tag_id == TAGS.c.id)
            .where(TAGGINGS.c.raw_lead_id == lead_id, TAGS.c.deleted_at.is_(None))
            .order_by(TAGS.c.name)
        )
        return list(rows)

    async def owner(self, owner_id: uuid.UUID) -> tuple[str, str | None] | None:
        row = (
            await self._s.execute(
                select(USERS.c.full_name, USERS.c.email, USERS.c.phone).where(
                    USERS.c.id == owner_id
                )
            )
        ).first()
        if row is None:
            return None
        return (row[0] or row[1] or "", row[2])

    async def apply(
        self, lead_id: uuid.UUID, change: LeadChange, *, at: datetime
    ) -> list[DomainEvent]:
        leads = SqlLeadRepository(self._s)
        lead = await leads.get(lead_id, SYSTEM_SCOPE, lock=True)
        if lead is None:
            raise NotFound(f"no lead {lead_id}", code="lead_not_found")
        events: list[DomainEvent] = []
        journal = []
        if change.set_status is not None:
            before = lead.status
            target = StatusChange(
                to=LeadStatus(change.set_status),
                lost_reason=WORKFLOW_REASON,
                conversion_ref="workflow",
            )
            if check_transition(lead, target, is_admin=True, is_head=False):
                apply_transition(lead, target)
                if not await leads.save(lead):
                    raise NotFound(f"lead {lead_id} changed meanwhile", code="lead_stale")
                journal.append(
                    activity(
                        lead.id,
                        ActivityType.STATUS_CHANGED,
                        f"Status {before.value} → {lead.status.value} (workflow)",
                        at,
                        None,
                        **{"from": before.value, "to": lead.status.value},
                    )
                )
                events.append(
                    LeadStatusChanged(
                        lead_id=lead.id,
                        from_status=before.value,
                        to_status=lead.status.value,
                        version=lead.version,
                        actor_id=None,
                    )
                )
        for names, attach in ((change.add_tags, True), (change.remove_tags, False)):
            tags = await self._tag_ids(names)
            if not tags:
                continue
            ids = list(tags.values())
            if attach:
                changed = await leads.attach_tags([lead_id], ids, None, at)
            else:
                changed = await leads.detach_tags([lead_id], ids)
            by_id = {tag_id: name for name, tag_id in tags.items()}
            kind = ActivityType.TAG_ADDED if attach else ActivityType.TAG_REMOVED
            verb = "Tagged" if attach else "Untagged"
            journal += [
                activity(lead_id, kind, f"{verb} '{by_id[tag]}' (workflow)", at, tag=by_id[tag])
                for _, tag in changed
            ]
        await leads.append(*journal)
        return events

    async def apply_tags(
        self, changes: Sequence[tuple[uuid.UUID, LeadChange]], *, at: datetime
    ) -> None:
        names = {name for _, c in changes for name in (*c.add_tags, *c.remove_tags)}
        tags = await self._tag_ids(sorted(names))
        by_id = {tag_id: name for name, tag_id in tags.items()}
        groups: dict[tuple[tuple[str, ...], bool], dict[uuid.UUID, None]] = {}
        for lead_id, change in changes:
            for named, attach in ((change.add_tags, True), (change.remove_tags, False)):
                if named:
                    groups.setdefault((tuple(sorted(named)), attach), {})[lead_id] = None
        leads = SqlLeadRepository(self._s)
        journal = []
        for (tag_names, attach), lead_ids in groups.items():
            ids = [tags[name] for name in tag_names]
            if attach:
                changed = await leads.attach_tags(list(lead_ids), ids, None, at)
            else:
                changed = await leads.detach_tags(list(lead_ids), ids)
            kind = ActivityType.TAG_ADDED if attach else ActivityType.TAG_REMOVED
            verb = "Tagged" if attach else "Untagged"
            journal += [
                activity(lead, kind, f"{verb} '{by_id[tag]}' (workflow)", at, tag=by_id[tag])
                for lead, tag in changed
            ]
        await leads.append(*journal)

    async def _tag_ids(self, names: Sequence[str]) -> dict[str, uuid.UUID]:
        """The live tags named; a name no tag has is a permanent failure of the node."""
        if not names:
            return {}
        rows = await self._s.execute(
            select(TAGS.c.name, TAGS.c.id).where(
                TAGS.c.name.in_(list(names)), TAGS.c.deleted_at.is_(None)
            )
        )
        found = {name: tag_id for name, tag_id in rows.all()}
        missing = sorted(set(names) - set(found))
        if missing:
            raise NotFound(f"no tag named {', '.join(missing)}", code="tag_not_found")
        return found
