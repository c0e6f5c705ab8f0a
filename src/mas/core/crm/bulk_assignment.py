"""Assigning many leads at once, behind the approval gate. A bulk assignment is always a
``BulkAssignmentRequest``: below the gate it is filed APPROVED and applied at once (in this call up
to one chunk, else by the task), above it waits PENDING for an ADMIN. Applying is chunked (500
leads per transaction) and replay-safe: the unique ``(request_id, raw_lead_id, slot)`` history
row marks a lead done.
"""

from __future__ import annotations

import logging
import uuid
from typing import Annotated

import msgspec

from mas.core.crm import config, notices
from mas.core.crm.assignment_access import labels_of, real_actor, record_changes, sales_head
from mas.core.crm.assignment_model import (
    APPLY_CHUNK,
    MAX_BULK_LEADS,
    PROBLEM_TEXT,
    REQUEST_TTL,
    AssignMethod,
    BulkRequest,
    BulkStrategy,
    Gate,
    LeadSlots,
    Person,
    RequestStatus,
    Slot,
    SlotChange,
    bulk_gate,
    bulk_reason,
    distribute,
    member_problem,
    offending_ids,
)
from mas.core.crm.model import LeadStatus
from mas.core.crm.ports.uow import CrmUnitOfWork
from mas.core.crm.tasks import APPLY_BULK_ASSIGNMENT, RequestRef
from mas.core.identity.policy import ADMIN_ROLES, Caller
from mas.core.platform.errors import FieldError, Forbidden, ValidationFailed
from mas.core.platform.ids import uuid7
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.messenger import Messenger
from mas.core.platform.ports.tasks import Enqueuer
from mas.core.platform.ports.uow import UnitOfWorkFactory

log = logging.getLogger("mas.crm")


class BulkCommand(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """``lead_ids`` + ``assignee_ids`` for ROUND_ROBIN / EVEN_SPLIT; ``explicit_map`` (lead ->
    assignee) for EXPLICIT. ``pool_head_id``: the pool an ADMIN acts in (a head acts in theirs)."""

    slot: Slot
    strategy: BulkStrategy
    reason: Annotated[str, msgspec.Meta(min_length=3, max_length=500)]
    lead_ids: Annotated[list[uuid.UUID], msgspec.Meta(max_length=MAX_BULK_LEADS)] = []
    assignee_ids: Annotated[list[uuid.UUID], msgspec.Meta(max_length=500)] = []
    explicit_map: (
        Annotated[dict[uuid.UUID, uuid.UUID], msgspec.Meta(max_length=MAX_BULK_LEADS)] | None
    ) = None
    pool_head_id: uuid.UUID | None = None


class BulkOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """``applied``: done in this call (200); otherwise waiting for approval or queued (202)."""

    applied: bool
    request: BulkRequest


def _unique(ids: list[uuid.UUID]) -> list[uuid.UUID]:
    return list(dict.fromkeys(ids))


def _shape(
    cmd: BulkCommand,
) -> tuple[list[uuid.UUID], list[uuid.UUID], dict[str, uuid.UUID] | None]:
    if cmd.strategy is BulkStrategy.EXPLICIT:
        if cmd.lead_ids or cmd.assignee_ids or not cmd.explicit_map:
            raise ValidationFailed(
                "EXPLICIT takes explicit_map {lead_id: assignee_id} only",
                errors=[FieldError("explicit_map", "required (and nothing else) for EXPLICIT")],
            )
        mapping = {str(lead): who for lead, who in cmd.explicit_map.items()}
        return list(cmd.explicit_map), _unique(list(cmd.explicit_map.values())), mapping
    errors = []
    if cmd.explicit_map is not None:
        errors.append(FieldError("explicit_map", "only for EXPLICIT"))
    if not cmd.lead_ids:
        errors.append(FieldError("lead_ids", "at least one lead"))
    if not cmd.assignee_ids:
        errors.append(FieldError("assignee_ids", "at least one assignee"))
    if errors:
        raise ValidationFailed("the bulk assignment is incomplete", errors=errors)
    return _unique(cmd.lead_ids), _unique(cmd.assignee_ids), None


class BulkAssignments:
    """Files bulk-assignment requests and applies the approved ones."""

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
        self._jobs = jobs
        self._messenger = messenger

    async def file_request(self, actor: Caller, cmd: BulkCommand) -> BulkOutcome:
        lead_ids, assignee_ids, explicit = _shape(cmd)
        now = self._clock.now()
        async with self._uow() as uow:
            pool = await self._pool(uow, actor, cmd.pool_head_id)
            profile = None if actor.is_admin else await uow.head_profiles.get(pool)
            default = await config.read(uow, config.BULK_ASSIGN_THRESHOLD)
            gate, why = bulk_gate(actor.role, profile, len(lead_ids), default)
            await _check_leads(uow, pool, lead_ids)
            await _check_assignees(uow, pool, cmd.slot, assignee_ids)
            request = BulkRequest(
                id=uuid7(),
                requested_by=real_actor(actor),
                pool_head_id=pool,
                slot=cmd.slot,
                strategy=cmd.strategy,
                lead_ids=lead_ids,
                assignee_ids=assignee_ids,
                explicit_map=explicit,
                lead_count=len(lead_ids),
                reason=cmd.reason.strip(),
                status=RequestStatus.PENDING,
                expires_at=now + REQUEST_TTL,
                created_at=now,
                updated_at=now,
            )
            if gate is Gate.IMMEDIATE:
                # The gate itself decided (decided_by stays empty), or an ADMIN did.
                request.decide(
                    RequestStatus.APPROVED, actor.user_id if actor.is_admin else None, now, why
                )
            await uow.bulk_requests.add(request)
            if gate is Gate.NEEDS_APPROVAL:
                people = await uow.people.by_ids([request.requested_by])
                admins = [
                    Person(id=u.id, email=u.email, role=u.role, name=u.full_name)
                    for u in await uow.users.active_with_roles(sorted(ADMIN_ROLES))
                ]
                await notices.request_filed(
                    self._messenger, uow, request, people[request.requested_by], admins
                )
            await uow.commit()
        log.info(
            "crm.bulk_filed",
            extra={"request_id": str(request.id), "leads": request.lead_count, "gate": gate.value},
        )
        if gate is Gate.NEEDS_APPROVAL:
            return BulkOutcome(applied=False, request=request)
        if request.lead_count <= APPLY_CHUNK:
            return BulkOutcome(
                applied=True, request=await self.apply_request(request.id) or request
            )
        await self._jobs.submit(APPLY_BULK_ASSIGNMENT, RequestRef(request.id), key=str(request.id))
        return BulkOutcome(applied=False, request=request)

    async def _pool(self, uow: CrmUnitOfWork, actor: Caller, wanted: uuid.UUID | None) -> uuid.UUID:
        if not actor.is_admin:
            if wanted is not None and wanted != actor.user_id:
                raise Forbidden("a sales head assigns in their own pool only", code="not_your_pool")
            return actor.user_id
        if wanted is None:
            raise ValidationFailed(
                "say whose pool these leads are in",
                code="pool_head_required",
                errors=[FieldError("pool_head_id", "required when an ADMIN assigns in bulk")],
            )
        await sales_head(uow, wanted, "pool_head_id")
        return wanted

    async def apply_request(self, request_id: uuid.UUID) -> BulkRequest | None:
        """Apply an approved request (the body of ``crm.apply_bulk_assignment``); a rerun
        continues where the last one stopped and never writes a lead twice."""
        now = self._clock.now()
        async with self._uow() as uow:
            request = await uow.bulk_requests.get(request_id, lock=True)
            if request is None:
                log.warning("crm.apply_missing", extra={"request_id": str(request_id)})
                return None
            if request.status is RequestStatus.APPROVED:
                request.move(RequestStatus.APPLYING)
                request.updated_at = now
                await uow.bulk_requests.save(request)
                await uow.commit()
            elif request.status is not RequestStatus.APPLYING:
                return request
            ids = [*request.assignee_ids, request.requested_by]
            if request.decided_by:
                ids.append(request.decided_by)
            people = await uow.people.by_ids(ids)
        approval = (
            f"approved by {people[request.decided_by].label}"
            if request.decided_by and request.decided_by in people
            else request.decision_note or "approved"
        )
        plan = distribute(
            request.strategy, request.lead_ids, request.assignee_ids, request.explicit_map
        )
        labels = labels_of(people)
        applied = 0
        for start in range(0, request.lead_count, APPLY_CHUNK):
            chunk = request.lead_ids[start : start + APPLY_CHUNK]
            async with self._uow() as uow:
                current = await uow.bulk_requests.get(request_id, lock=True)
                if current is None or current.status is not RequestStatus.APPLYING:
                    return current
                leads = await uow.assignments.lead_slots(chunk, lock=True)
                done = await uow.bulk_requests.applied_leads(request_id, chunk)
                changes = []
                for lead_id in chunk:
                    lead = leads.get(lead_id)
                    if lead_id in done or not _still_in(lead, request.pool_head_id):
                        continue
                    assert lead is not None
                    assignee, how = plan[lead_id]
                    changes.append(
                        SlotChange(
                            lead_id=lead_id,
                            slot=request.slot,
                            assignee_id=assignee,
                            previous_assignee_id=lead.holder(request.slot),
                            method=AssignMethod.BULK,
                            reason=bulk_reason(request.id, approval, how),
                            request_id=request.id,
                            assigned_by=request.requested_by,
                        )
                    )
                await record_changes(uow, changes, labels, self._clock.now())
                applied += len(done) + len(changes)
                current.applied_count = applied
                current.skipped_count = start + len(chunk) - applied
                current.updated_at = self._clock.now()
                await uow.bulk_requests.save(current)
                await uow.commit()
        return await self._finish(request_id)

    async def _finish(self, request_id: uuid.UUID) -> BulkRequest | None:
        now = self._clock.now()
        async with self._uow() as uow:
            request = await uow.bulk_requests.get(request_id, lock=True)
            if request is None or request.status is not RequestStatus.APPLYING:
                return request
            request.move(RequestStatus.APPLIED)
            request.updated_at = now
            per_assignee = await uow.bulk_requests.applied_per_assignee(request_id)
            request.applied_count = sum(per_assignee.values())
            request.skipped_count = request.lead_count - request.applied_count
            await uow.bulk_requests.save(request)
            people = await uow.people.by_ids(list(per_assignee))
            for assignee, count in per_assignee.items():
                if assignee in people:
                    await notices.leads_assigned(
                        self._messenger,
                        uow,
                        f"crm.bulk:{request_id}:{assignee}",
                        people[assignee],
                        count,
                        request.slot,
                        f"Bulk assignment {request_id}: {request.reason}",
                    )
            await uow.commit()
        log.info(
            "crm.bulk_applied",
            extra={
                "request_id": str(request_id),
                "applied": request.applied_count,
                "skipped": request.skipped_count,
            },
        )
        return request

    async def mark_failed(self, request_id: uuid.UUID, error: str) -> None:
        """The apply task ran out of attempts: the request is FAILED until an ADMIN retries."""
        async with self._uow() as uow:
            request = await uow.bulk_requests.get(request_id, lock=True)
            if request is None:
                return
            if request.status is RequestStatus.APPROVED:
                request.move(RequestStatus.APPLYING)
            if request.status is not RequestStatus.APPLYING:
                return
            request.move(RequestStatus.FAILED)
            request.last_error = error[:2000]
            request.updated_at = self._clock.now()
            await uow.bulk_requests.save(request)
            await uow.commit()


def _still_in(lead: LeadSlots | None, pool: uuid.UUID) -> bool:
    return (
        lead is not None
        and not lead.deleted
        and lead.owning_sales_head_id == pool
        and lead.status is not LeadStatus.CONVERTED
    )


async def _check_leads(uow: CrmUnitOfWork, pool: uuid.UUID, lead_ids: list[uuid.UUID]) -> None:
    leads = await uow.assignments.lead_slots(lead_ids)
    bad = [i for i in lead_ids if not _still_in(leads.get(i), pool)]
    if bad:
        raise ValidationFailed(
            f"{len(bad)} of these leads are unknown, deleted, converted or outside the pool",
            code="leads_outside_pool",
            errors=[FieldError("lead_ids", offending_ids(bad))],
        )


async def _check_assignees(
    uow: CrmUnitOfWork, pool: uuid.UUID, slot: Slot, assignee_ids: list[uuid.UUID]
) -> None:
    team = {m.user_id: m for m in await uow.teams.members(pool, active_only=True)}
    errors = [
        FieldError(f"assignee_ids[{i}]", PROBLEM_TEXT[problem])
        for i, who in enumerate(assignee_ids)
        if (problem := member_problem(team.get(who), pool, slot)) is not None
    ]
    if errors:
        raise ValidationFailed(
            "some assignees cannot take these leads", code="not_in_team", errors=errors
        )
