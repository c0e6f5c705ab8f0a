"""Token governance: a student asks their batch lead for tokens (tokens-earnings.md §4).

Behind ``MAS_ENABLE_TOKEN_GOVERNANCE``: while it is off every call answers 404 and existing
rows stay untouched. Batches belong to the LMS, reached through ``BatchDirectory``; without an
LMS (``NoBatches``) no batch exists, so a student is in none (403 ``not_in_batch``) and no
request can be raised. The directory is replaceable (``batches``) for the LMS and for tests.

Approval is a CAS on PENDING and the credit (ledger ``allotment``, key ``allotment:<id>``) in
the same transaction: a second decision, by anyone, answers 409. The batch lead is told of a new
request, the student of a decision or an expiry (``notices``), in the same transaction too.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from mas.core.identity.policy import Caller
from mas.core.platform.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import UnitOfWorkFactory
from mas.core.tokens.wallet.accounts import no_impersonation
from mas.core.tokens.wallet.ledger import LedgerPurse
from mas.core.tokens.wallet.model import (
    ALLOTMENT_MONTHLY_CAP,
    ALLOTMENT_TTL_DAYS,
    AllotmentRequest,
    AllotmentStatus,
    Decision,
    NewAllotmentRequest,
)
from mas.core.tokens.wallet.notices import AllotmentNotices
from mas.core.tokens.wallet.ports import BatchDirectory, WalletUnitOfWork
from mas.core.tokens.wallet.purse import UsageType

log = logging.getLogger("mas.tokens.allotments")


class Allotments:
    def __init__(
        self,
        uow: UnitOfWorkFactory[WalletUnitOfWork],
        clock: Clock,
        purse: LedgerPurse,
        batches: BatchDirectory,
        enabled: bool,
        notices: AllotmentNotices,
    ) -> None:
        self._uow = uow
        self._notices = notices
        self._clock = clock
        self._purse = purse
        self.batches = batches
        self.enabled = enabled

    def _on(self) -> None:
        if not self.enabled:
            raise NotFound("token governance is off", code="governance_off")

    async def raise_request(self, caller: Caller, data: NewAllotmentRequest) -> AllotmentRequest:
        self._on()
        if not await self.batches.is_member(caller.user_id, data.batch_id):
            raise Forbidden("you are not in this batch", code="not_in_batch")
        now = self._clock.now()
        request = AllotmentRequest(
            id=uuid7(),
            student_id=caller.user_id,
            batch_id=data.batch_id,
            batch_lead_id=await self.batches.lead_of(data.batch_id),
            token_kind=data.token_kind,
            tokens_requested=data.tokens_requested,
            reason=data.reason,
            status=AllotmentStatus.PENDING,
            created_at=now,
            updated_at=now,
        )
        async with self._uow() as uow:
            if not await uow.token_allotments.add(request):
                raise Conflict(
                    "a PENDING request for this batch and kind exists", code="request_pending"
                )
            await self._notices.requested(uow, request)
            await uow.commit()
        return request

    async def mine(self, caller: Caller, req: PageRequest) -> Page[AllotmentRequest]:
        self._on()
        async with self._uow() as uow:
            return await uow.token_allotments.of_student(caller.user_id, req)

    async def withdraw(self, caller: Caller, request_id: uuid.UUID) -> AllotmentRequest:
        self._on()
        async with self._uow() as uow:
            found = await uow.token_allotments.get(request_id)
            if found is None or found.student_id != caller.user_id:
                raise NotFound("no such request", code="request_not_found")
            moved = await uow.token_allotments.move(
                request_id, AllotmentStatus.WITHDRAWN, self._clock.now(), caller.user_id
            )
            if moved is None:
                raise Conflict(f"the request is {found.status.value}", code="request_not_pending")
            await uow.commit()
        return moved

    async def for_lead(
        self, caller: Caller, status: AllotmentStatus | None, req: PageRequest
    ) -> Page[AllotmentRequest]:
        self._on()
        async with self._uow() as uow:
            lead = None if caller.is_admin else caller.user_id
            return await uow.token_allotments.for_decider(lead, status, req)

    async def approve(self, caller: Caller, request_id: uuid.UUID) -> AllotmentRequest:
        self._on()
        no_impersonation(caller)
        now = self._clock.now()
        async with self._uow() as uow:
            found = await self._decidable(uow, caller, request_id)
            approved = await uow.token_allotments.approved_since(
                found.student_id, found.batch_id, _month_start(now)
            )
            if approved + found.tokens_requested > ALLOTMENT_MONTHLY_CAP:
                raise Conflict(
                    f"at most {ALLOTMENT_MONTHLY_CAP} tokens per student per batch per month "
                    f"({approved} approved this month)",
                    code="allotment_cap",
                )
            moved = await uow.token_allotments.move(
                request_id, AllotmentStatus.APPROVED, now, caller.user_id
            )
            if moved is None:
                raise Conflict(f"the request is {found.status.value}", code="request_not_pending")
            await self._purse.credit(
                uow,
                user_id=found.student_id,
                kind=found.token_kind,
                tokens=found.tokens_requested,
                usage_type=UsageType.ALLOTMENT,
                key=f"allotment:{request_id}",
                reference_id=str(request_id),
                description="allotment approved",
                actor_id=caller.user_id,
            )
            await self._notices.decided(uow, [moved])
            await uow.commit()
        return moved

    async def reject(
        self, caller: Caller, request_id: uuid.UUID, decision: Decision
    ) -> AllotmentRequest:
        self._on()
        async with self._uow() as uow:
            found = await self._decidable(uow, caller, request_id)
            if not decision.note or not decision.note.strip():
                raise ValidationFailed(
                    "a rejection needs a note",
                    code="note_required",
                    errors=[FieldError("note", "required")],
                )
            moved = await uow.token_allotments.move(
                request_id,
                AllotmentStatus.REJECTED,
                self._clock.now(),
                caller.user_id,
                decision.note,
            )
            if moved is None:
                raise Conflict(f"the request is {found.status.value}", code="request_not_pending")
            await self._notices.decided(uow, [moved])
            await uow.commit()
        return moved

    async def expire(self) -> int:
        now = self._clock.now()
        async with self._uow() as uow:
            expired = await uow.token_allotments.expire(
                now - timedelta(days=ALLOTMENT_TTL_DAYS), now
            )
            await self._notices.decided(uow, expired)
            await uow.commit()
        log.info("tokens.allotments_expired", extra={"count": len(expired)})
        return len(expired)

    async def _decidable(
        self, uow: WalletUnitOfWork, caller: Caller, request_id: uuid.UUID
    ) -> AllotmentRequest:
        found = await uow.token_allotments.get(request_id)
        if found is None:
            raise NotFound("no such request", code="request_not_found")
        if not caller.is_admin:
            lead = await self.batches.lead_of(found.batch_id)
            if lead != caller.user_id:
                raise Forbidden("you do not lead this request's batch", code="not_batch_lead")
        return found


def _month_start(now: datetime) -> datetime:
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
