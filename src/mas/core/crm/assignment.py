"""Assigning leads: one lead by hand here, many at once behind the approval gate
(``bulk_assignment``); new pool leads are ``auto_assign``'s. Every assignment is journalled with
its reason (see ``record_changes``).
"""

from __future__ import annotations

import uuid

import msgspec

from mas.core.crm import notices
from mas.core.crm.assignment_access import head_page, labels_of, record_changes
from mas.core.crm.assignment_model import (
    PROBLEM_TEXT,
    AssignMethod,
    BulkRequest,
    LeadSlots,
    SalesHeadProfile,
    Slot,
    SlotChange,
    check_single_assign,
    member_problem,
)
from mas.core.crm.bulk_assignment import BulkAssignments, BulkCommand, BulkOutcome
from mas.core.crm.ports.uow import CrmUnitOfWork
from mas.core.identity.policy import Caller
from mas.core.platform.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from mas.core.platform.ids import uuid7
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.messenger import Messenger
from mas.core.platform.ports.tasks import Enqueuer
from mas.core.platform.ports.uow import UnitOfWorkFactory


class AssignCommand(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    slot: Slot
    assignee_id: uuid.UUID


class UnassignCommand(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    slot: Slot


class AssignOutcome(msgspec.Struct, frozen=True, kw_only=True):
    lead_id: uuid.UUID
    slot: Slot
    assignee_id: uuid.UUID | None
    previous_assignee_id: uuid.UUID | None
    changed: bool
    method: AssignMethod = AssignMethod.MANUAL
    reason: str | None = None


class AssignmentService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory[CrmUnitOfWork],
        clock: Clock,
        jobs: Enqueuer,
        messenger: Messenger,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._messenger = messenger
        self._bulk = BulkAssignments(uow=uow, clock=clock, jobs=jobs, messenger=messenger)

    # --- one lead ---------------------------------------------------------------------------

    async def _writable_lead(
        self,
        uow: CrmUnitOfWork,
        actor: Caller,
        profile: SalesHeadProfile | None,
        lead_id: uuid.UUID,
    ) -> LeadSlots:
        lead = (await uow.assignments.lead_slots([lead_id], lock=True)).get(lead_id)
        if lead is None or lead.deleted:
            raise NotFound("no such lead", code="lead_not_found")
        if actor.is_admin or lead.owning_sales_head_id == actor.user_id:
            return lead
        if profile is not None and not profile.isolation_enabled:
            raise Forbidden(
                "a sales head changes leads of their own pool only", code="not_your_pool"
            )
        raise NotFound("no such lead", code="lead_not_found")

    async def assign(
        self, actor: Caller, lead_id: uuid.UUID, slot: Slot, assignee_id: uuid.UUID
    ) -> AssignOutcome:
        now = self._clock.now()
        async with self._uow() as uow:
            profile = await head_page(uow, actor, "assign")
            lead = await self._writable_lead(uow, actor, profile, lead_id)
            check_single_assign(lead, slot)
            pool = lead.owning_sales_head_id
            if pool is None:
                raise Conflict(
                    "this lead is in no pool: transfer it into a pool first",
                    code="lead_has_no_pool",
                )
            problem = member_problem(await uow.teams.membership_of(assignee_id), pool, slot)
            if problem is not None:
                raise ValidationFailed(
                    f"the assignee is {PROBLEM_TEXT[problem]}",
                    code=problem,
                    errors=[FieldError("assignee_id", PROBLEM_TEXT[problem])],
                )
            previous = lead.holder(slot)
            if previous == assignee_id:
                return AssignOutcome(
                    lead_id=lead_id,
                    slot=slot,
                    assignee_id=assignee_id,
                    previous_assignee_id=previous,
                    changed=False,
                )
            people = await uow.people.by_ids(
                [p for p in (actor.user_id, assignee_id, previous) if p]
            )
            reason = f"manual: assigned by {people[actor.user_id].label} ({actor.role.value})"
            change = SlotChange(
                lead_id=lead_id,
                slot=slot,
                assignee_id=assignee_id,
                previous_assignee_id=previous,
                method=AssignMethod.MANUAL,
                reason=reason,
                assigned_by=actor.user_id,
            )
            await record_changes(uow, [change], labels_of(people), now)
            await notices.leads_assigned(
                self._messenger, uow, f"crm.assign:{uuid7()}", people[assignee_id], 1, slot, reason
            )
            await uow.commit()
        return AssignOutcome(
            lead_id=lead_id,
            slot=slot,
            assignee_id=assignee_id,
            previous_assignee_id=previous,
            changed=True,
            reason=reason,
        )

    async def unassign(self, actor: Caller, lead_id: uuid.UUID, slot: Slot) -> AssignOutcome:
        now = self._clock.now()
        async with self._uow() as uow:
            profile = await head_page(uow, actor, "assign")
            lead = await self._writable_lead(uow, actor, profile, lead_id)
            previous = lead.holder(slot)
            if previous is None:
                return AssignOutcome(
                    lead_id=lead_id,
                    slot=slot,
                    assignee_id=None,
                    previous_assignee_id=None,
                    changed=False,
                )
            people = await uow.people.by_ids([actor.user_id, previous])
            reason = f"manual: unassigned by {people[actor.user_id].label} ({actor.role.value})"
            change = SlotChange(
                lead_id=lead_id,
                slot=slot,
                assignee_id=None,
                previous_assignee_id=previous,
                method=AssignMethod.MANUAL,
                reason=reason,
                assigned_by=actor.user_id,
            )
            await record_changes(uow, [change], labels_of(people), now)
            await uow.commit()
        return AssignOutcome(
            lead_id=lead_id,
            slot=slot,
            assignee_id=None,
            previous_assignee_id=previous,
            changed=True,
            reason=reason,
        )

    # --- many leads (``bulk_assignment``) --------------------------------------------------

    async def bulk(self, actor: Caller, cmd: BulkCommand) -> BulkOutcome:
        return await self._bulk.file_request(actor, cmd)

    async def apply_request(self, request_id: uuid.UUID) -> BulkRequest | None:
        """Apply an approved request (the body of ``crm.apply_bulk_assignment``)."""
        return await self._bulk.apply_request(request_id)

    async def mark_failed(self, request_id: uuid.UUID, error: str) -> None:
        """The apply task ran out of attempts: the request is FAILED until an ADMIN retries."""
        await self._bulk.mark_failed(request_id, error)
