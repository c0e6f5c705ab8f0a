"""What the assignment use cases share: who may act on which pool, and how a change is recorded.

Page access of a SALES_HEAD is two switches that must both be on: the identity page permission
(``crm.assignment``, ``crm.approvals``, ``crm.targets``, ``crm.leaderboard``, ``crm.team``),
checked by the HTTP guard from the route's ``opt["page"]`` (403 ``page_forbidden``), and the
CRM profile's ``page_flags`` entry, checked here (403 ``page_disabled``). ADMIN passes both.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from mas.core.crm.assignment_model import (
    Assignment,
    Person,
    SalesHeadProfile,
    Slot,
    SlotChange,
    require_flag,
)
from mas.core.crm.events import LeadAssigned
from mas.core.crm.model import Activity, ActivityType
from mas.core.crm.ports.uow import CrmUnitOfWork
from mas.core.identity.policy import Caller, Role
from mas.core.platform.errors import FieldError, Forbidden, NotFound, ValidationFailed
from mas.core.platform.ids import uuid7


def real_actor(actor: Caller) -> uuid.UUID:
    """The person behind the call: the administrator when one is impersonating."""
    return actor.impersonated_by or actor.user_id


async def head_page(uow: CrmUnitOfWork, actor: Caller, flag: str) -> SalesHeadProfile | None:
    """The caller's profile, after checking its page flag; None for an administrator."""
    if actor.is_admin:
        return None
    if actor.role is not Role.SALES_HEAD:
        raise Forbidden("only a sales head or an ADMIN may do this", code="role_forbidden")
    profile = await uow.head_profiles.get(actor.user_id)
    require_flag(profile, flag)
    return profile


def pool_filter(actor: Caller, wanted: uuid.UUID | None) -> tuple[uuid.UUID | None, bool]:
    """(pool to read, empty): a head reads only their own pool; another pool reads as empty."""
    if actor.is_admin:
        return wanted, False
    return actor.user_id, wanted is not None and wanted != actor.user_id


async def sales_head(uow: CrmUnitOfWork, user_id: uuid.UUID, field: str) -> Person:
    person = (await uow.people.by_ids([user_id])).get(user_id)
    if person is None or not person.usable:
        raise NotFound("no such sales head", code="sales_head_not_found")
    if person.role is not Role.SALES_HEAD:
        raise ValidationFailed(
            f"{person.label} is not a SALES_HEAD",
            code="not_a_sales_head",
            errors=[FieldError(field, "must be a SALES_HEAD user")],
        )
    return person


def labels_of(people: dict[uuid.UUID, Person]) -> dict[uuid.UUID, str]:
    """Each person's label by id: how the journal names them (``record_changes``)."""
    return {pid: p.label for pid, p in people.items()}


SLOT_NAMES = {Slot.FIRST_LINE: "First line", Slot.SECOND_LINE: "Second line"}


def _summary(change: SlotChange, labels: dict[uuid.UUID, str]) -> str:
    slot = SLOT_NAMES[change.slot]
    if change.assignee_id is None:
        was = labels.get(change.previous_assignee_id) if change.previous_assignee_id else None
        return f"{slot} unassigned" + (f" (was {was})" if was else "")
    who = labels.get(change.assignee_id, str(change.assignee_id))
    return f"{slot} assigned to {who} ({change.method.value.lower().replace('_', ' ')})"[:500]


async def record_changes(
    uow: CrmUnitOfWork,
    changes: list[SlotChange],
    labels: dict[uuid.UUID, str],
    now: datetime,
    *,
    write_leads: bool = True,
    activities: bool = True,
) -> None:
    """Everything one assignment writes, in the caller's transaction: the lead's slot, a
    ``lead_assignments`` row with the reason, an ASSIGNED/UNASSIGNED activity and a
    ``lead.assigned`` event."""
    if not changes:
        return
    if write_leads:
        await uow.assignments.apply_slot_changes(changes, now)
    await uow.assignments.add_assignments(
        [
            Assignment(
                id=uuid7(),
                raw_lead_id=c.lead_id,
                slot=c.slot,
                method=c.method,
                reason=c.reason,
                created_at=now,
                assignee_id=c.assignee_id,
                previous_assignee_id=c.previous_assignee_id,
                request_id=c.request_id,
                assigned_by=c.assigned_by,
            )
            for c in changes
        ]
    )
    if activities:
        await uow.assignments.add_activities(
            [
                Activity(
                    id=uuid7(),
                    raw_lead_id=c.lead_id,
                    type=ActivityType.ASSIGNED if c.assignee_id else ActivityType.UNASSIGNED,
                    summary=_summary(c, labels),
                    occurred_at=now,
                    actor_id=c.assigned_by,
                    data=change_data(c),
                )
                for c in changes
            ]
        )
    for c in changes:
        uow.record(
            LeadAssigned(
                lead_id=c.lead_id,
                slot=c.slot.value,
                assignee_id=c.assignee_id,
                previous_assignee_id=c.previous_assignee_id,
                method=c.method.value,
                reason=c.reason,
            )
        )


def change_data(c: SlotChange) -> dict[str, str | None]:
    return {
        "slot": c.slot.value,
        "assignee_id": str(c.assignee_id) if c.assignee_id else None,
        "previous_assignee_id": str(c.previous_assignee_id) if c.previous_assignee_id else None,
        "method": c.method.value,
        "reason": c.reason,
        "request_id": str(c.request_id) if c.request_id else None,
    }
