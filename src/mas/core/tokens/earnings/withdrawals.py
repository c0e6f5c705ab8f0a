"""Withdrawals: a mentor asks, an ADMIN pays (by hand, or by a RazorpayX payout) and
completes, or either cancels (tokens-earnings.md §4).

Every status change is a compare-and-set on the row's status, and moves the balances in the
same transaction: requesting takes the amount from available into pending; completing moves
it from pending to withdrawn; cancelling or a failed payout gives it back to available. So a
withdrawal completed twice, or completed after a cancel, changes the balances once.

A RAZORPAY payout is sent after the row is committed ``in_process`` (a concurrent cancel
can no longer return the money); a refusal puts it back to ``requested``; an unknown outcome
(the gateway unreachable) leaves it ``in_process`` and the poll asks again with the same
idempotency key, which RazorpayX answers with the same payout.
"""

from __future__ import annotations

import logging
import uuid
from typing import Literal

import msgspec

from mas.core.identity.policy import Caller
from mas.core.platform.errors import (
    Conflict,
    ExternalUnavailable,
    FieldError,
    Forbidden,
    NotConfigured,
    NotFound,
    UpstreamRejected,
    ValidationFailed,
)
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.messenger import Messenger
from mas.core.platform.ports.uow import UnitOfWorkFactory
from mas.core.tokens.earnings.model import (
    OPEN,
    MentorTransaction,
    PaymentMethod,
    PayoutMode,
    TransactionView,
    TxnStatus,
    TxnType,
    WithdrawRequest,
    check_destination,
)
from mas.core.tokens.earnings.ports import (
    BOUNCED,
    EarningsUnitOfWork,
    GatewayPayout,
    PayoutPort,
    PayoutStatus,
)

log = logging.getLogger("mas.tokens.earnings")

MAIL_REQUESTED = "earnings.withdrawal_requested"
MAIL_COMPLETED = "earnings.withdrawal_completed"
MAIL_FAILED = "earnings.withdrawal_failed"
_MAILS = {
    TxnStatus.REQUESTED: MAIL_REQUESTED,
    TxnStatus.COMPLETED: MAIL_COMPLETED,
    TxnStatus.FAILED: MAIL_FAILED,
}


def refuse_impersonation(caller: Caller) -> None:
    if caller.impersonated_by is not None:
        raise Forbidden("money actions are not allowed while impersonating", code="impersonation")


class Withdrawals:
    def __init__(
        self,
        uow: UnitOfWorkFactory[EarningsUnitOfWork],
        clock: Clock,
        messenger: Messenger,
        payouts: PayoutPort | None,
        min_withdrawal_paise: int,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._messenger = messenger
        self._payouts = payouts
        self._min = min_withdrawal_paise

    # --- the mentor ------------------------------------------------------------------------------

    async def request(self, caller: Caller, data: WithdrawRequest) -> TransactionView:
        refuse_impersonation(caller)
        if data.amount_paise < self._min:
            message = f"must be at least {self._min} paise"
            raise ValidationFailed(
                f"amount_paise {message}",
                code="below_minimum",
                errors=[FieldError("amount_paise", message)],
            )
        destination = check_destination(data.payment_method, data.bank_upi)
        now = self._clock.now()
        txn = MentorTransaction(
            id=uuid7(),
            mentor_id=caller.user_id,
            type=TxnType.WITHDRAWAL,
            amount_paise=-data.amount_paise,
            created_at=now,
            status=TxnStatus.REQUESTED,
            payment_method=data.payment_method,
            bank_upi=destination,
            description="withdrawal requested",
        )
        async with self._uow() as uow:
            repo = uow.mentor_earnings
            await repo.ensure(caller.user_id, now)
            if not await repo.add_withdrawal(txn):
                raise Conflict("a withdrawal is already open", code="withdrawal_open")
            after = await repo.move(
                caller.user_id, now, available=-data.amount_paise, pending=data.amount_paise
            )
            if after is None:
                raise Conflict(
                    "the amount is more than the available balance", code="insufficient_balance"
                )
            after.check()
            await self._mail(uow, txn)
            await uow.commit()
        return TransactionView.of(txn)

    async def cancel_own(
        self, caller: Caller, txn_id: uuid.UUID, reason: str | None
    ) -> TransactionView:
        refuse_impersonation(caller)
        async with self._uow() as uow:
            txn = await self._withdrawal(uow, txn_id)
            if txn.mentor_id != caller.user_id:
                raise NotFound("no such withdrawal")
            if txn.status is not TxnStatus.REQUESTED:
                raise Conflict(
                    f"a withdrawal in '{txn.status}' cannot be cancelled by its mentor",
                    code="illegal_transition",
                )
            done = await self._settle(
                uow, txn, TxnStatus.CANCELLED, failure_reason=reason or "cancelled by the mentor"
            )
            await uow.commit()
        return TransactionView.of(done)

    # --- the administrators ----------------------------------------------------------------------

    async def cancel(
        self, caller: Caller, txn_id: uuid.UUID, reason: str | None
    ) -> TransactionView:
        refuse_impersonation(caller)
        async with self._uow() as uow:
            txn = await self._withdrawal(uow, txn_id)
            if txn.status is TxnStatus.IN_PROCESS and txn.payout_mode is not PayoutMode.MANUAL:
                raise Conflict(
                    "a RazorpayX payout under way cannot be cancelled", code="payout_in_flight"
                )
            done = await self._settle(
                uow,
                txn,
                TxnStatus.CANCELLED,
                failure_reason=reason or "cancelled by an administrator",
                processed_by=caller.user_id,
            )
            await uow.commit()
        return TransactionView.of(done)

    async def complete(self, caller: Caller, txn_id: uuid.UUID, reference: str) -> TransactionView:
        refuse_impersonation(caller)
        async with self._uow() as uow:
            txn = await self._withdrawal(uow, txn_id)
            done = await self._settle(
                uow,
                txn,
                TxnStatus.COMPLETED,
                transaction_id=reference.strip(),
                processed_by=caller.user_id,
                completed_at=self._clock.now(),
                payout_mode=txn.payout_mode or PayoutMode.MANUAL,
            )
            await uow.commit()
        return TransactionView.of(done)

    async def process(self, caller: Caller, txn_id: uuid.UUID, mode: PayoutMode) -> TransactionView:
        refuse_impersonation(caller)
        async with self._uow() as uow:
            txn = await self._withdrawal(uow, txn_id)
            if txn.status is TxnStatus.REQUESTED and mode is PayoutMode.RAZORPAY:
                if self._payouts is None:
                    raise NotConfigured("RazorpayX payouts")
            taken = await self._move(
                uow, txn, TxnStatus.IN_PROCESS, payout_mode=mode, processed_by=caller.user_id
            )
            contact = await uow.mentor_earnings.contact(txn.mentor_id)
            await uow.commit()
        if mode is PayoutMode.MANUAL:
            return TransactionView.of(taken)
        name = contact.name if contact is not None else "Mentor"
        try:
            payout = await self._send(taken, name)
        except UpstreamRejected:
            async with self._uow() as uow:
                await self._move(uow, taken, TxnStatus.REQUESTED, payout_mode=None)
                await uow.commit()
            raise
        return TransactionView.of(await self.apply(payout, taken.id) or taken)

    # --- the payout's outcome --------------------------------------------------------------------

    async def apply(
        self, payout: GatewayPayout, txn_id: uuid.UUID | None = None
    ) -> MentorTransaction | None:
        """Record what RazorpayX says of a payout (webhook, poll or creation): a processed one
        completes its withdrawal, a bounced one fails it. None when nothing changed."""
        async with self._uow() as uow:
            repo = uow.mentor_earnings
            txn = await (repo.get(txn_id) if txn_id else repo.by_payout_id(payout.id))
            if txn is None or txn.status is not TxnStatus.IN_PROCESS:
                return None
            if txn.payout_mode is not PayoutMode.RAZORPAY:
                return None
            if txn.razorpay_payout_id not in (None, payout.id):
                return None
            if payout.status is PayoutStatus.PROCESSED:
                done = await self._settle_if(
                    uow,
                    txn,
                    TxnStatus.COMPLETED,
                    razorpay_payout_id=payout.id,
                    transaction_id=payout.utr or payout.id,
                    completed_at=self._clock.now(),
                )
            elif payout.status in BOUNCED:
                done = await self._settle_if(
                    uow,
                    txn,
                    TxnStatus.FAILED,
                    razorpay_payout_id=payout.id,
                    failure_reason=(payout.failure_reason or f"payout {payout.status}")[:500],
                )
            elif txn.razorpay_payout_id is None:
                recorded = msgspec.structs.replace(txn, razorpay_payout_id=payout.id)
                done = recorded if await repo.save(recorded, TxnStatus.IN_PROCESS) else None
            else:
                done = None
            await uow.commit()
        return done

    async def poll(self, limit: int = 200) -> int:
        """Ask RazorpayX about every payout under way; how many withdrawals changed."""
        if self._payouts is None:
            return 0
        async with self._uow() as uow:
            flying = await uow.mentor_earnings.payouts_in_flight(limit)
            names = {
                txn.mentor_id: await uow.mentor_earnings.contact(txn.mentor_id) for txn in flying
            }
        changed = 0
        for txn in flying:
            try:
                if txn.razorpay_payout_id is None:
                    contact = names.get(txn.mentor_id)
                    payout = await self._send(txn, contact.name if contact else "Mentor")
                else:
                    payout = await self._payouts.fetch_payout(txn.razorpay_payout_id)
            except UpstreamRejected as refused:
                log.warning(
                    "earnings.payout_refused", extra={"txn": str(txn.id), "why": str(refused)}
                )
                if txn.razorpay_payout_id is None:
                    async with self._uow() as uow:
                        await self._move(uow, txn, TxnStatus.REQUESTED, payout_mode=None)
                        await uow.commit()
                    changed += 1
                continue
            except ExternalUnavailable as down:
                log.warning("earnings.payout_unknown", extra={"txn": str(txn.id), "why": str(down)})
                continue
            if await self.apply(payout, txn.id) is not None:
                changed += 1
        return changed

    # --- reads -----------------------------------------------------------------------------------

    async def requests(self, status: TxnStatus | None, req: PageRequest) -> Page[TransactionView]:
        async with self._uow() as uow:
            page = await uow.mentor_earnings.withdrawals(status, req)
        return Page(
            items=[TransactionView.of(txn, mentor_email=email) for txn, email in page.items],
            total=page.total,
            page=page.page,
            page_size=page.page_size,
        )

    # --- the machine -----------------------------------------------------------------------------

    async def _send(self, txn: MentorTransaction, name: str) -> GatewayPayout:
        if self._payouts is None:
            raise NotConfigured("RazorpayX payouts")
        method: Literal["UPI", "BANK"] = (
            "BANK" if txn.payment_method is PaymentMethod.BANK else "UPI"
        )
        return await self._payouts.create_payout(
            txn.withdrawn, method, txn.bank_upi or "", name, f"wd_{txn.id.hex}"
        )

    async def _withdrawal(self, uow: EarningsUnitOfWork, txn_id: uuid.UUID) -> MentorTransaction:
        txn = await uow.mentor_earnings.get(txn_id)
        if txn is None or txn.type is not TxnType.WITHDRAWAL:
            raise NotFound("no such withdrawal")
        return txn

    async def _move(
        self, uow: EarningsUnitOfWork, txn: MentorTransaction, target: TxnStatus, **changes: object
    ) -> MentorTransaction:
        """A status change that moves no money (a CAS: 409 when someone moved it first)."""
        assert txn.status is not None
        moved = txn.moved(target, **changes)
        if not await uow.mentor_earnings.save(moved, txn.status):
            raise Conflict("the withdrawal changed meanwhile; reload it", code="illegal_transition")
        return moved

    async def _settle(
        self, uow: EarningsUnitOfWork, txn: MentorTransaction, target: TxnStatus, **changes: object
    ) -> MentorTransaction:
        done = await self._settle_if(uow, txn, target, **changes)
        if done is None:
            raise Conflict("the withdrawal changed meanwhile; reload it", code="illegal_transition")
        return done

    async def _settle_if(
        self, uow: EarningsUnitOfWork, txn: MentorTransaction, target: TxnStatus, **changes: object
    ) -> MentorTransaction | None:
        """Close an open withdrawal and move its money; None when a concurrent writer closed it
        first (nothing moved)."""
        if txn.status not in OPEN:
            txn.moved(target)  # raises InvalidState naming both states
        assert txn.status is not None
        done = txn.moved(target, **changes)
        repo = uow.mentor_earnings
        if not await repo.save(done, txn.status):
            return None
        amount, now = txn.withdrawn, self._clock.now()
        if target is TxnStatus.COMPLETED:
            after = await repo.move(txn.mentor_id, now, pending=-amount, withdrawn=amount)
        else:
            after = await repo.move(txn.mentor_id, now, pending=-amount, available=amount)
        if after is None:
            raise AssertionError(f"withdrawal {txn.id} is open but its money is not pending")
        after.check()
        await self._mail(uow, done)
        return done

    async def _mail(self, uow: EarningsUnitOfWork, txn: MentorTransaction) -> None:
        template = _MAILS.get(txn.status) if txn.status else None
        if template is None:
            return
        contact = await uow.mentor_earnings.contact(txn.mentor_id)
        if contact is None:
            return
        await self._messenger.email(
            uow,
            template=template,
            to=contact.email,
            data={
                "name": contact.name,
                "amount_paise": txn.withdrawn,
                "reference": txn.transaction_id or "",
                "reason": txn.failure_reason or "",
            },
            key=f"withdrawal:{txn.id}:{txn.status}",
            related=("mentor_withdrawal", txn.id),
        )
