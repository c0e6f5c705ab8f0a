"""What FINANCE does with mirrored payments (payments-finance.md §4 reconciliation_status, §5):
list and read them, link one to what it paid for, ignore one with a reason, undo either, and ask
for a sync of a window.

Reconciliation moves only as ``MOVES`` allows; an illegal move is a 409 naming both states, and
undoing a match whose payment has an ISSUED invoice is a 409 too. Each move writes one GST audit
row (``PAYMENT_MATCH``) in the same transaction, with the local fields before and after.
Without Razorpay keys every route answers 503 ``integration_not_configured`` (an id is looked up
first, so an unknown one is still a 404).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec

from mas.core.finance.audit import AuditTrail
from mas.core.finance.audit.model import AuditAction, AuditEntity, AuditEntry
from mas.core.finance.payments.mirror import Reconciliation
from mas.core.finance.payments.model import (
    MAX_LIST_DAYS,
    IgnoreRequest,
    MatchRequest,
    MatchType,
    MirroredPayment,
    PaymentDetail,
    PaymentFilter,
    SyncQueued,
    SyncRequest,
)
from mas.core.finance.payments.ports import InvoiceState, PaymentsUnitOfWork, TokenPurchaseLookup
from mas.core.finance.payments.sync import PaymentSync, aware_utc, check_window, window_for
from mas.core.finance.payments.tasks import SYNC
from mas.core.identity.policy import Caller
from mas.core.platform.errors import Conflict, Forbidden, InvalidState, NotConfigured, NotFound
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.tasks import Enqueuer
from mas.core.platform.ports.uow import UnitOfWorkFactory

MOVES: dict[Reconciliation, frozenset[Reconciliation]] = {
    Reconciliation.UNMATCHED: frozenset({Reconciliation.MATCHED, Reconciliation.IGNORED}),
    Reconciliation.MATCHED: frozenset({Reconciliation.UNMATCHED}),
    Reconciliation.IGNORED: frozenset({Reconciliation.UNMATCHED}),
}
"""Where a payment's reconciliation may go (§4)."""

GATEWAY = "the payment gateway (MAS_RAZORPAY_KEY_ID, MAS_RAZORPAY_KEY_SECRET)"


def moved(payment: MirroredPayment, target: Reconciliation, **local: Any) -> MirroredPayment:
    """``payment`` in ``target`` with its local fields set; ``InvalidState`` naming both
    states when the machine forbids the move."""
    if target not in MOVES[payment.reconciliation_status]:
        raise InvalidState(
            "payment reconciliation", payment.reconciliation_status.value, target.value
        )
    return msgspec.structs.replace(payment, reconciliation_status=target, **local)


def local_fields(payment: MirroredPayment) -> dict[str, Any]:
    """What an audit row shows of a payment's reconciliation."""
    return {
        "reconciliation_status": payment.reconciliation_status.value,
        "matched_entity_type": payment.matched_entity_type,
        "matched_entity_id": str(payment.matched_entity_id) if payment.matched_entity_id else None,
        "ignore_reason": payment.ignore_reason,
        "razorpay_payment_id": payment.razorpay_payment_id,
    }


def refuse_impersonation(caller: Caller) -> None:
    if caller.impersonated_by is not None:
        raise Forbidden(
            "finance actions are refused while impersonating", code="impersonation_refused"
        )


class PaymentDesk:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory[PaymentsUnitOfWork],
        clock: Clock,
        trail: AuditTrail,
        sync: PaymentSync,
        jobs: Enqueuer,
        purchases: TokenPurchaseLookup,
        invoices: InvoiceState,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._trail = trail
        self._sync = sync
        self._jobs = jobs
        self._purchases = purchases
        self._invoices = invoices

    def _require_gateway(self) -> None:
        if not self._sync.configured:
            raise NotConfigured(GATEWAY)

    async def page(self, flt: PaymentFilter, req: PageRequest) -> Page[MirroredPayment]:
        if flt.created_from is not None and flt.created_to is not None:
            check_window(flt.created_from, flt.created_to, flt.created_to, max_days=MAX_LIST_DAYS)
        flt = msgspec.structs.replace(
            flt,
            created_from=aware_utc(flt.created_from, "from") if flt.created_from else None,
            created_to=aware_utc(flt.created_to, "to") if flt.created_to else None,
        )
        self._require_gateway()
        async with self._uow() as uow:
            return await uow.global_payments.page(flt, req)

    async def detail(self, payment_id: uuid.UUID) -> PaymentDetail:
        async with self._uow() as uow:
            payment = await uow.global_payments.get(payment_id)
            if payment is None:
                raise NotFound(f"no mirrored payment {payment_id}", code="payment_not_found")
            self._require_gateway()
            issued = await self._invoices.has_issued(uow, payment_id)
        return PaymentDetail(payment=payment, invoice_issued=issued)

    async def match(
        self, caller: Caller, payment_id: uuid.UUID, request: MatchRequest, ip: str | None = None
    ) -> PaymentDetail:
        refuse_impersonation(caller)
        user_id: uuid.UUID | None = None
        async with self._uow() as uow:
            current = await self._locked(uow, payment_id)
            if request.type is MatchType.TOKEN_PURCHASE:
                found = await self._purchases.facts([request.id])
                if not found:
                    raise NotFound(f"no token purchase {request.id}", code="entity_not_found")
                user_id = found[0].user_id
            if current.reconciliation_status is Reconciliation.MATCHED:
                raise Conflict(
                    "the payment is matched already; unmatch it first",
                    code="payment_already_matched",
                )
            after = moved(
                current,
                Reconciliation.MATCHED,
                matched_entity_type=request.type.value,
                matched_entity_id=request.id,
                user_id=user_id or current.user_id,
                ignore_reason=None,
                match_flag=None,
            )
            return await self._save(uow, caller, current, after, AuditAction.MATCHED, ip)

    async def ignore(
        self, caller: Caller, payment_id: uuid.UUID, request: IgnoreRequest, ip: str | None = None
    ) -> PaymentDetail:
        refuse_impersonation(caller)
        async with self._uow() as uow:
            current = await self._locked(uow, payment_id)
            after = moved(current, Reconciliation.IGNORED, ignore_reason=request.reason.strip())
            return await self._save(uow, caller, current, after, AuditAction.IGNORED, ip)

    async def unmatch(
        self, caller: Caller, payment_id: uuid.UUID, ip: str | None = None
    ) -> PaymentDetail:
        refuse_impersonation(caller)
        async with self._uow() as uow:
            current = await self._locked(uow, payment_id)
            if current.reconciliation_status is Reconciliation.MATCHED and (
                await self._invoices.has_issued(uow, payment_id)
            ):
                raise Conflict(
                    "the payment has an ISSUED invoice: cancel the invoice first",
                    code="invoice_issued",
                )
            after = moved(
                current,
                Reconciliation.UNMATCHED,
                matched_entity_type=None,
                matched_entity_id=None,
                ignore_reason=None,
            )
            return await self._save(uow, caller, current, after, AuditAction.UNMATCHED, ip)

    async def request_sync(self, caller: Caller, request: SyncRequest) -> SyncQueued:
        """Enqueue an on-demand run over ``[from, to]`` (≤ 31 days); 409 while one runs."""
        refuse_impersonation(caller)
        window = window_for(request.from_, request.to, self._clock.now())
        self._require_gateway()
        state = await self._sync.state()
        if state.running:
            raise Conflict("a payment sync is running; try again when it ends", code="sync_running")
        run = await self._jobs.submit(SYNC, window, key=f"{window.from_ts}-{window.to_ts}")
        assert window.from_ts is not None and window.to_ts is not None
        return SyncQueued(
            run_id=run.id,
            window_from=datetime.fromtimestamp(window.from_ts, UTC),
            window_to=datetime.fromtimestamp(window.to_ts, UTC),
        )

    async def _locked(self, uow: PaymentsUnitOfWork, payment_id: uuid.UUID) -> MirroredPayment:
        current = await uow.global_payments.lock(payment_id)
        if current is None:
            raise NotFound(f"no mirrored payment {payment_id}", code="payment_not_found")
        self._require_gateway()
        return current

    async def _save(
        self,
        uow: PaymentsUnitOfWork,
        caller: Caller,
        before: MirroredPayment,
        after: MirroredPayment,
        action: AuditAction,
        ip: str | None,
    ) -> PaymentDetail:
        after = msgspec.structs.replace(after, updated_at=self._clock.now())
        if not await uow.global_payments.save_reconciliation(after, before.reconciliation_status):
            raise Conflict("the payment changed meanwhile; try again", code="payment_busy")
        await self._trail.append(
            uow,
            AuditEntry(
                entity_type=AuditEntity.PAYMENT_MATCH,
                entity_id=str(after.id),
                action=action,
                actor_id=caller.user_id,
                before=local_fields(before),
                after=local_fields(after),
                ip=ip,
            ),
        )
        issued = await self._invoices.has_issued(uow, after.id)
        await uow.commit()
        return PaymentDetail(payment=after, invoice_issued=issued)
