"""Discount requests (payments-finance.md §3, §4, §5, §9 checks 11-12): a salesperson asks
for a student's price on a batch below its fee; an ADMIN approves (at any price in
[requested, fee)), rejects or later revokes; the approved price is the student's effective
price until ``valid_until``, after which the batch fee applies again.

The fee is read from the LMS's catalogue at request time and kept (a later fee change does not
move an open request). A student has at most one active (PENDING or APPROVED) request per
batch, by a partial unique index, so two salespeople racing get one 201 and one 409.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from mas.core.finance.sales.model import (
    APPROVAL_VALID,
    PENDING_TTL,
    Approval,
    Decision,
    DecisionNote,
    DiscountRequest,
    DiscountStatus,
    EffectivePrice,
    NewDiscountRequest,
    check_move,
)
from mas.core.finance.sales.ports import BatchFees, SalesUnitOfWork
from mas.core.identity.policy import Caller, Role
from mas.core.platform.emails import check_email
from mas.core.platform.errors import (
    Conflict,
    FieldError,
    Forbidden,
    InvalidState,
    NotFound,
    ValidationFailed,
)
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import DuplicateKey, UnitOfWorkFactory

ACTIVE_EXISTS = "discount_request_active"


def _active_exists() -> Conflict:
    return Conflict(
        "the student already has an open or approved request for this batch",
        code=ACTIVE_EXISTS,
    )


class DiscountRequests:
    def __init__(
        self,
        uow: UnitOfWorkFactory[SalesUnitOfWork],
        clock: Clock,
        batches: BatchFees,
    ) -> None:
        self._uow: Callable[[], SalesUnitOfWork] = uow
        self._clock = clock
        self._batches = batches

    async def _fee(self, batch_id: uuid.UUID) -> int:
        fee = await self._batches.fee_of(batch_id)
        if fee is None:
            raise NotFound("there is no such batch", code="batch_not_found")
        return fee

    async def create(self, caller: Caller, data: NewDiscountRequest) -> DiscountRequest:
        email = check_email(data.student_email, "student_email")
        fee = await self._fee(data.batch_id)
        if not 0 < data.requested_price_paise < fee:
            raise ValidationFailed(
                "the requested price must be above 0 and below the batch fee",
                code="price_out_of_range",
                errors=[FieldError("requested_price_paise", f"between 1 and {fee - 1} paise")],
            )
        now = self._clock.now()
        request = DiscountRequest(
            id=uuid7(),
            student_user_id=data.student_user_id,
            student_email=email,
            batch_id=data.batch_id,
            batch_fee_paise=fee,
            requested_price_paise=data.requested_price_paise,
            approved_price_paise=None,
            reason=data.reason,
            status=DiscountStatus.PENDING,
            requested_by=caller.user_id,
            decided_by=None,
            decided_at=None,
            decision_note=None,
            valid_until=None,
            consumed_payment_id=None,
            created_at=now,
            updated_at=now,
        )
        async with self._uow() as uow:
            if await uow.discount_requests.active(email, data.batch_id) is not None:
                raise _active_exists()
            try:
                await uow.discount_requests.add(request)
            except DuplicateKey as taken:
                raise _active_exists() from taken
            await uow.commit()
        return request

    async def mine(
        self, caller: Caller, status: DiscountStatus | None, req: PageRequest
    ) -> Page[DiscountRequest]:
        """A salesperson's own requests; a head's and their team's; an admin's view is all."""
        async with self._uow() as uow:
            requested_by: list[uuid.UUID] | None = [caller.user_id]
            if caller.is_admin:
                requested_by = None
            elif caller.role is Role.SALES_HEAD:
                team = await uow.sales_team_roster.members_of(caller.user_id)
                requested_by = [caller.user_id, *team]
            return await uow.discount_requests.list(requested_by, status, req)

    async def queue(self, status: DiscountStatus | None, req: PageRequest) -> Page[DiscountRequest]:
        async with self._uow() as uow:
            return await uow.discount_requests.list(None, status, req)

    async def _move(
        self,
        request_id: uuid.UUID,
        target: DiscountStatus,
        decide: Callable[[DiscountRequest], Decision],
    ) -> DiscountRequest:
        now = self._clock.now()
        async with self._uow() as uow:
            request = await uow.discount_requests.get(request_id)
            if request is None:
                raise NotFound("there is no such discount request", code="discount_not_found")
            check_move(request.status, target)
            decision = decide(request)
            moved = await uow.discount_requests.move(
                request.id, request.status, target, decision, now
            )
            if moved is None:
                raise Conflict("the request changed meanwhile; reload it", code="discount_changed")
            await uow.commit()
        return moved

    async def cancel(self, caller: Caller, request_id: uuid.UUID) -> DiscountRequest:
        def decide(request: DiscountRequest) -> Decision:
            if request.requested_by != caller.user_id and not caller.is_admin:
                raise Forbidden("only its requester cancels a request", code="not_requester")
            if request.status is not DiscountStatus.PENDING:  # an approval is revoked instead
                raise InvalidState("discount request", request.status.value, "CANCELLED")
            return Decision(decided_by=caller.user_id, decided_at=self._clock.now())

        return await self._move(request_id, DiscountStatus.CANCELLED, decide)

    async def approve(
        self, caller: Caller, request_id: uuid.UUID, data: Approval
    ) -> DiscountRequest:
        def decide(request: DiscountRequest) -> Decision:
            if request.requested_by == caller.user_id:
                raise Forbidden("nobody approves their own request", code="self_approval")
            price = data.approved_price_paise or request.requested_price_paise
            if not request.requested_price_paise <= price < request.batch_fee_paise:
                raise ValidationFailed(
                    "the approved price must be at least the requested one and below the fee",
                    code="approved_price_out_of_range",
                    errors=[
                        FieldError(
                            "approved_price_paise",
                            f"between {request.requested_price_paise} and "
                            f"{request.batch_fee_paise - 1} paise",
                        )
                    ],
                )
            now = self._clock.now()
            return Decision(
                decided_by=caller.user_id,
                decided_at=now,
                decision_note=data.note,
                approved_price_paise=price,
                valid_until=now + APPROVAL_VALID,
            )

        return await self._move(request_id, DiscountStatus.APPROVED, decide)

    async def reject(
        self, caller: Caller, request_id: uuid.UUID, data: DecisionNote
    ) -> DiscountRequest:
        def decide(request: DiscountRequest) -> Decision:
            return Decision(
                decided_by=caller.user_id, decided_at=self._clock.now(), decision_note=data.note
            )

        return await self._move(request_id, DiscountStatus.REJECTED, decide)

    async def revoke(
        self, caller: Caller, request_id: uuid.UUID, data: DecisionNote
    ) -> DiscountRequest:
        def decide(request: DiscountRequest) -> Decision:
            if request.status is not DiscountStatus.APPROVED:  # a pending one is rejected
                raise InvalidState("discount request", request.status.value, "CANCELLED")
            return Decision(
                decided_by=caller.user_id, decided_at=self._clock.now(), decision_note=data.note
            )

        return await self._move(request_id, DiscountStatus.CANCELLED, decide)

    async def effective_price(self, batch_id: uuid.UUID, raw_email: str) -> EffectivePrice:
        email = check_email(raw_email, "email")
        fee = await self._fee(batch_id)
        now = self._clock.now()
        async with self._uow() as uow:
            active = await uow.discount_requests.active(email, batch_id)
        if _usable(active, now):
            assert active is not None and active.approved_price_paise is not None
            return EffectivePrice(
                batch_id=batch_id,
                student_email=email,
                batch_fee_paise=fee,
                price_paise=active.approved_price_paise,
                discount_request_id=active.id,
                valid_until=active.valid_until,
            )
        return EffectivePrice(
            batch_id=batch_id,
            student_email=email,
            batch_fee_paise=fee,
            price_paise=fee,
            discount_request_id=None,
            valid_until=None,
        )

    async def consume(
        self, uow: SalesUnitOfWork, email: str, batch_id: uuid.UUID, payment_id: uuid.UUID
    ) -> int | None:
        """For the enrollment checkout, in its unit of work: the approved price, marking the
        request CONSUMED by ``payment_id``; None when no usable approval exists."""
        now = self._clock.now()
        active = await uow.discount_requests.active(email, batch_id)
        if not _usable(active, now):
            return None
        assert active is not None
        moved = await uow.discount_requests.move(
            active.id,
            DiscountStatus.APPROVED,
            DiscountStatus.CONSUMED,
            Decision(consumed_payment_id=payment_id),
            now,
        )
        return None if moved is None else moved.approved_price_paise

    async def expire(self) -> int:
        now = self._clock.now()
        async with self._uow() as uow:
            count = await uow.discount_requests.expire(now - PENDING_TTL, now)
            await uow.commit()
        return count


def _usable(request: DiscountRequest | None, now: datetime) -> bool:
    return (
        request is not None
        and request.status is DiscountStatus.APPROVED
        and request.approved_price_paise is not None
        and request.valid_until is not None
        and now < request.valid_until
    )
