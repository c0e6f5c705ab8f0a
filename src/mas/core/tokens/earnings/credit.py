"""Crediting a completed meeting to its mentor: the public interface the mentorship domain
calls, inside its own unit of work, when a meeting completes (tokens-earnings.md §5).

The earning is what the slot's booking net-held (``Purse.held_for_slot``: booked minus
refunded) × ``token_value_paise``, written once per slot: the journal's unique ``slot_id``
makes a second call, a replayed job or a concurrent transaction a no-op ("already credited").
"""

from __future__ import annotations

import uuid
from typing import cast

from mas.core.platform.errors import NotConfigured
from mas.core.platform.ids import uuid7
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import UnitOfWork
from mas.core.tokens.earnings.model import CreditResult, MentorTransaction, TxnType
from mas.core.tokens.earnings.ports import EarningsUnitOfWork
from mas.core.tokens.wallet.purse import Purse


class MeetingCredit:
    def __init__(self, clock: Clock, purse: Purse | None, token_value_paise: int) -> None:
        self._clock = clock
        self._purse = purse
        self._token_value = token_value_paise

    async def credit_meeting(
        self,
        uow: UnitOfWork,
        slot_id: uuid.UUID,
        mentor_id: uuid.UUID,
        *,
        actor_id: uuid.UUID | None = None,
        description: str | None = None,
    ) -> CreditResult:
        """Credit ``mentor_id`` for ``slot_id`` in ``uow`` (the caller commits)."""
        if self._purse is None:
            raise NotConfigured("the wallet's purse")
        repo = cast(EarningsUnitOfWork, uow).mentor_earnings
        tokens = await self._purse.held_for_slot(uow, slot_id)
        if tokens <= 0:
            return CreditResult(
                credited=False, outcome="nothing_held", amount_paise=0, transaction_id=None
            )
        now = self._clock.now()
        amount = tokens * self._token_value
        txn = MentorTransaction(
            id=uuid7(),
            mentor_id=mentor_id,
            type=TxnType.EARNING,
            amount_paise=amount,
            created_at=now,
            slot_id=slot_id,
            tokens=tokens,
            token_value_paise=self._token_value,
            description=description or "meeting completed",
            processed_by=actor_id,
        )
        await repo.ensure(mentor_id, now)
        if not await repo.add_earning(txn):
            return CreditResult(
                credited=False, outcome="already_credited", amount_paise=0, transaction_id=None
            )
        after = await repo.move(mentor_id, now, total=amount, available=amount)
        if after is None:  # only a negative credit could: the amount is positive
            raise AssertionError("crediting an earning cannot overdraw a balance")
        after.check()
        return CreditResult(
            credited=True, outcome="credited", amount_paise=amount, transaction_id=txn.id
        )
