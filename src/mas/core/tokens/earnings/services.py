"""The earnings part's services as the manifest builds them: balances and journal reads, the
meeting credit other domains call, withdrawals, and the payout webhook's signature check."""

from __future__ import annotations

import hashlib
import hmac
import logging
import uuid
from dataclasses import dataclass

import msgspec

from mas.core.identity.policy import Caller, Role
from mas.core.platform.errors import Conflict, NotFound, Unauthorized
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.messenger import Messenger
from mas.core.platform.ports.uow import UnitOfWork, UnitOfWorkFactory
from mas.core.tokens.earnings.credit import MeetingCredit
from mas.core.tokens.earnings.digest import WithdrawalDigest
from mas.core.tokens.earnings.model import (
    CreditMeetingRequest,
    CreditResult,
    Earnings,
    EarningsView,
    MentorEarningsDetail,
    TransactionView,
)
from mas.core.tokens.earnings.ports import (
    EarningsUnitOfWork,
    GatewayPayout,
    PayoutPort,
    PayoutStatus,
)
from mas.core.tokens.earnings.withdrawals import Withdrawals, refuse_impersonation
from mas.core.tokens.wallet.purse import Purse

log = logging.getLogger("mas.tokens.earnings")


@dataclass(frozen=True)
class EarningsPorts:
    uow: UnitOfWorkFactory[EarningsUnitOfWork]
    clock: Clock
    messenger: Messenger
    purse: Purse | None
    """The wallet's purse (reads what a slot's booking held); None until the wallet has one."""
    payouts: PayoutPort | None
    """RazorpayX; None when it is not configured (RAZORPAY mode answers 503)."""
    token_value_paise: int
    min_withdrawal_paise: int
    webhook_secret: str


class _PayoutEntity(msgspec.Struct):
    id: str
    status: str
    amount: int = 0
    utr: str | None = None
    failure_reason: str | None = None


class _PayoutWrap(msgspec.Struct):
    entity: _PayoutEntity


class _Payload(msgspec.Struct):
    payout: _PayoutWrap | None = None


class _Event(msgspec.Struct):
    event: str
    payload: _Payload = msgspec.field(default_factory=_Payload)


PAYOUT_EVENTS = frozenset(
    {"payout.processed", "payout.reversed", "payout.failed", "payout.rejected"}
)


@dataclass(frozen=True)
class EarningsServices:
    uow: UnitOfWorkFactory[EarningsUnitOfWork]
    credit: MeetingCredit
    withdrawals: Withdrawals
    webhook_secret: str
    digest: WithdrawalDigest
    """The ADMINs' daily digest of withdrawals waiting for payment."""

    async def credit_meeting(
        self, uow: UnitOfWork, slot_id: uuid.UUID, mentor_id: uuid.UUID
    ) -> CreditResult:
        """Credit the mentor of a completed meeting, once per slot, in the caller's ``uow``
        (the mentorship domain calls this in the transaction that completes the slot)."""
        return await self.credit.credit_meeting(uow, slot_id, mentor_id)

    async def credit_manually(self, caller: Caller, data: CreditMeetingRequest) -> CreditResult:
        """An ADMIN's credit of a meeting that was missed (409 when credited or nothing held)."""
        refuse_impersonation(caller)
        async with self.uow() as uow:
            mentor = await uow.mentor_earnings.contact(data.mentor_id)
            if mentor is None or mentor.role != Role.EXPERT.value:
                raise NotFound("no such mentor")
            result = await self.credit.credit_meeting(
                uow, data.slot_id, data.mentor_id, actor_id=caller.user_id, description=data.reason
            )
            if not result.credited:
                raise Conflict(
                    "the meeting was credited before"
                    if result.outcome == "already_credited"
                    else "the meeting's booking held no token",
                    code=result.outcome,
                )
            await uow.commit()
        return result

    async def summary(self, mentor_id: uuid.UUID) -> EarningsView:
        async with self.uow() as uow:
            return await self._summary(uow, mentor_id, reveal=False)

    async def history(self, mentor_id: uuid.UUID, req: PageRequest) -> Page[TransactionView]:
        async with self.uow() as uow:
            page = await uow.mentor_earnings.history(mentor_id, req)
        return Page(
            items=[TransactionView.of(txn) for txn in page.items],
            total=page.total,
            page=page.page,
            page_size=page.page_size,
        )

    async def detail(
        self, caller: Caller, mentor_id: uuid.UUID, req: PageRequest
    ) -> MentorEarningsDetail:
        """Any mentor's balances and journal; the payout destination is shown to ADMIN only."""
        reveal = caller.is_admin
        async with self.uow() as uow:
            mentor = await uow.mentor_earnings.contact(mentor_id)
            if mentor is None or mentor.role != Role.EXPERT.value:
                raise NotFound("no such mentor")
            view = await self._summary(uow, mentor_id, reveal=reveal)
            page = await uow.mentor_earnings.history(mentor_id, req)
        return MentorEarningsDetail(
            earnings=view,
            transactions=[TransactionView.of(txn, reveal=reveal) for txn in page.items],
            transactions_total=page.total,
        )

    async def on_webhook(self, body: bytes, signature: str | None) -> bool:
        """A RazorpayX webhook: 401 unless signed with the webhook secret (nothing read);
        ``payout.*`` events settle their withdrawal; a replay changes nothing."""
        self.verify(body, signature)
        try:
            event = msgspec.json.decode(body, type=_Event)
        except msgspec.DecodeError:
            return False
        if event.event not in PAYOUT_EVENTS or event.payload.payout is None:
            return False
        entity = event.payload.payout.entity
        try:
            status = PayoutStatus(entity.status)
        except ValueError:
            return False
        payout = GatewayPayout(
            id=entity.id[:64],
            status=status,
            amount_paise=entity.amount,
            utr=entity.utr[:100] if entity.utr else None,
            failure_reason=entity.failure_reason,
        )
        return await self.withdrawals.apply(payout) is not None

    def verify(self, body: bytes, signature: str | None) -> None:
        # Without a secret nothing can be authenticated: every webhook is refused (as the
        # purchases' webhook, which shares the secret, does), and the log says why.
        if not self.webhook_secret:
            log.warning("earnings.webhook_refused", extra={"why": "no razorpay_webhook_secret"})
            raise Unauthorized("the webhook secret is not configured", code="bad_signature")
        expected = hmac.new(self.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
        if signature is None or not hmac.compare_digest(signature.encode(), expected.encode()):
            raise Unauthorized("the webhook signature is not right", code="bad_signature")

    async def _summary(
        self, uow: EarningsUnitOfWork, mentor_id: uuid.UUID, *, reveal: bool
    ) -> EarningsView:
        repo = uow.mentor_earnings
        balances = await repo.balances(mentor_id) or Earnings(mentor_id=mentor_id)
        last = await repo.history(mentor_id, PageRequest(1, 1))
        return EarningsView(
            **msgspec.structs.asdict(balances.check()),
            last_transaction=TransactionView.of(last.items[0], reveal=reveal)
            if last.items
            else None,
        )


def build_earnings(ports: EarningsPorts) -> EarningsServices:
    return EarningsServices(
        uow=ports.uow,
        credit=MeetingCredit(ports.clock, ports.purse, ports.token_value_paise),
        withdrawals=Withdrawals(
            ports.uow, ports.clock, ports.messenger, ports.payouts, ports.min_withdrawal_paise
        ),
        webhook_secret=ports.webhook_secret,
        digest=WithdrawalDigest(ports.uow, ports.clock, ports.messenger),
    )
