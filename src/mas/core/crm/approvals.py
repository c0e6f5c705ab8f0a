"""The life of a bulk-assignment request after it is filed: read, approve, reject, cancel,
retry, expire, and resume an apply whose run was lost."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

import msgspec

from mas.core.crm import notices
from mas.core.crm.assignment_access import (
    head_page,
    pool_filter,
    real_actor,
)
from mas.core.crm.assignment_model import (
    PROBLEM_TEXT,
    BulkRequest,
    RequestStatus,
    member_problem,
    preview,
)
from mas.core.crm.ports.uow import CrmUnitOfWork
from mas.core.crm.tasks import APPLY_BULK_ASSIGNMENT, RequestRef
from mas.core.identity.policy import Caller
from mas.core.platform.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.messenger import Messenger
from mas.core.platform.ports.tasks import Enqueuer
from mas.core.platform.ports.uow import UnitOfWorkFactory

log = logging.getLogger("mas.crm")

IDLE_AFTER = timedelta(minutes=10)


class Share(msgspec.Struct, frozen=True, kw_only=True):
    assignee_id: uuid.UUID
    name: str
    lead_count: int


class RequestDetail(msgspec.Struct, frozen=True, kw_only=True):
    request: BulkRequest
    distribution: list[Share]


def _is_requester(actor: Caller, request: BulkRequest) -> bool:
    return real_actor(actor) == request.requested_by or actor.user_id == request.requested_by


class ApprovalService:
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

    async def _visible(
        self, uow: CrmUnitOfWork, actor: Caller, request_id: uuid.UUID, *, lock: bool = False
    ) -> BulkRequest:
        if not actor.is_admin:
            await head_page(uow, actor, "bulk_assign")
        request = await uow.bulk_requests.get(request_id, lock=lock)
        if request is None or not (actor.is_admin or request.pool_head_id == actor.user_id):
            raise NotFound("no such assignment request", code="request_not_found")
        return request

    async def page(
        self,
        actor: Caller,
        status: RequestStatus | None,
        pool_head_id: uuid.UUID | None,
        req: PageRequest,
    ) -> Page[BulkRequest]:
        async with self._uow() as uow:
            await head_page(uow, actor, "bulk_assign")
            pool, empty = pool_filter(actor, pool_head_id)
            if empty:
                return Page(items=[], total=0, page=req.page, page_size=req.page_size)
            return await uow.bulk_requests.page(pool, status, req)

    async def get(self, actor: Caller, request_id: uuid.UUID) -> RequestDetail:
        async with self._uow() as uow:
            request = await self._visible(uow, actor, request_id)
            counts = preview(
                request.strategy, request.lead_ids, request.assignee_ids, request.explicit_map
            )
            people = await uow.people.by_ids(list(counts))
        shares = [
            Share(
                assignee_id=who,
                name=people[who].label if who in people else str(who),
                lead_count=count,
            )
            for who, count in counts.items()
        ]
        return RequestDetail(request=request, distribution=shares)

    async def approve(
        self, actor: Caller, request_id: uuid.UUID, note: str | None = None
    ) -> BulkRequest:
        now = self._clock.now()
        async with self._uow() as uow:
            request = await self._visible(uow, actor, request_id, lock=True)
            if _is_requester(actor, request):
                raise Forbidden("nobody approves their own request", code="own_request")
            request.decide(RequestStatus.APPROVED, actor.user_id, now, (note or "").strip() or None)
            team = {
                m.user_id: m
                for m in await uow.teams.members(request.pool_head_id, active_only=True)
            }
            gone = [
                FieldError(f"assignee_ids[{i}]", f"{who}: {PROBLEM_TEXT[problem]}")
                for i, who in enumerate(request.assignee_ids)
                if (problem := member_problem(team.get(who), request.pool_head_id, request.slot))
            ]
            if gone:
                raise Conflict(
                    "some assignees are no longer active in the team: reject the request and "
                    "let the head file it again",
                    code="assignee_inactive",
                    errors=gone,
                )
            request.updated_at = now
            await uow.bulk_requests.save(request)
            await self._tell_requester(uow, request)
            await uow.commit()
        await self._jobs.submit(APPLY_BULK_ASSIGNMENT, RequestRef(request_id), key=str(request_id))
        async with self._uow() as uow:
            return await uow.bulk_requests.get(request_id) or request

    async def reject(self, actor: Caller, request_id: uuid.UUID, note: str) -> BulkRequest:
        note = note.strip()
        if not note:
            raise ValidationFailed(
                "say why the request is rejected",
                errors=[FieldError("decision_note", "required to reject")],
            )
        now = self._clock.now()
        async with self._uow() as uow:
            request = await self._visible(uow, actor, request_id, lock=True)
            request.decide(RequestStatus.REJECTED, actor.user_id, now, note[:500])
            request.updated_at = now
            await uow.bulk_requests.save(request)
            await self._tell_requester(uow, request)
            await uow.commit()
        return request

    async def cancel(self, actor: Caller, request_id: uuid.UUID) -> BulkRequest:
        now = self._clock.now()
        async with self._uow() as uow:
            request = await self._visible(uow, actor, request_id, lock=True)
            if not (_is_requester(actor, request) or actor.user_id == request.pool_head_id):
                raise Forbidden("only the requester cancels a request", code="not_requester")
            request.decide(RequestStatus.CANCELLED, real_actor(actor), now, None)
            request.updated_at = now
            await uow.bulk_requests.save(request)
            await uow.commit()
        return request

    async def retry(self, actor: Caller, request_id: uuid.UUID) -> BulkRequest:
        async with self._uow() as uow:
            request = await self._visible(uow, actor, request_id, lock=True)
            request.move(RequestStatus.APPLYING)
            request.last_error = None
            request.updated_at = self._clock.now()
            await uow.bulk_requests.save(request)
            await uow.commit()
        # The first run's key is spent (it died); this retry gets its own.
        await self._jobs.submit(
            APPLY_BULK_ASSIGNMENT, RequestRef(request_id), key=f"{request_id}:retry:{uuid7()}"
        )
        async with self._uow() as uow:
            return await uow.bulk_requests.get(request_id) or request

    async def _tell_requester(self, uow: CrmUnitOfWork, request: BulkRequest) -> None:
        requester = (await uow.people.by_ids([request.requested_by])).get(request.requested_by)
        if requester is not None and requester.usable:
            await notices.request_decided(self._messenger, uow, request, requester)

    # --- jobs -------------------------------------------------------------------------------

    async def expire_due(self, limit: int = 500) -> int:
        """PENDING past ``expires_at`` -> EXPIRED, with one email to the requester each."""
        now = self._clock.now()
        async with self._uow() as uow:
            due = await uow.bulk_requests.due_to_expire(now, limit)
        expired = 0
        for request_id in due:
            async with self._uow() as uow:
                if not await uow.bulk_requests.expire_pending(request_id, now):
                    continue  # decided meanwhile
                request = await uow.bulk_requests.get(request_id)
                assert request is not None
                await self._tell_requester(uow, request)
                await uow.commit()
            expired += 1
        if expired:
            log.info("crm.requests_expired", extra={"count": expired})
        return expired

    async def resume_idle(self, limit: int = 100) -> int:
        """Re-queue the apply of APPROVED / APPLYING requests nobody touched for 10 minutes
        (a crash between the decision and the queue, or a lost run)."""
        now = self._clock.now()
        async with self._uow() as uow:
            idle = await uow.bulk_requests.idle(now - IDLE_AFTER, limit)
        for request in idle:
            stamp = request.updated_at.isoformat()
            await self._jobs.submit(
                APPLY_BULK_ASSIGNMENT, RequestRef(request.id), key=f"{request.id}:resume:{stamp}"
            )
        return len(idle)
