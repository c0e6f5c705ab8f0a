"""What the earnings part needs: a payout gateway (RazorpayX) and its storage."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Literal, Protocol

import msgspec

from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.uow import UnitOfWork
from mas.core.tokens.earnings.model import Earnings, MentorTransaction, TxnStatus


class PayoutStatus(enum.StrEnum):
    QUEUED = "queued"
    PENDING = "pending"
    PROCESSING = "processing"
    PROCESSED = "processed"
    REVERSED = "reversed"
    FAILED = "failed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


UNSETTLED = frozenset({PayoutStatus.QUEUED, PayoutStatus.PENDING, PayoutStatus.PROCESSING})
BOUNCED = frozenset(
    {PayoutStatus.REVERSED, PayoutStatus.FAILED, PayoutStatus.REJECTED, PayoutStatus.CANCELLED}
)
"""A payout that will never pay: its withdrawal fails and the money returns to available."""


class GatewayPayout(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    status: PayoutStatus
    amount_paise: int
    utr: str | None = None
    failure_reason: str | None = None


class PayoutPort(Protocol):
    async def create_payout(
        self,
        amount_paise: int,
        method: Literal["UPI", "BANK"],
        destination: str,
        beneficiary_name: str,
        idempotency_key: str,
    ) -> GatewayPayout:
        """Send money; the same ``idempotency_key`` again answers the same payout.
        ``UpstreamRejected`` when refused (nothing was sent); ``ExternalUnavailable`` when the
        outcome is unknown (unreachable, 5xx)."""
        ...

    async def fetch_payout(self, payout_id: str) -> GatewayPayout: ...


class MentorContact(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    email: str
    name: str
    role: str


class EarningsRepository(Protocol):
    async def ensure(self, mentor_id: uuid.UUID, now: datetime) -> None:
        """Create the mentor's balances row (all zero) unless it exists."""
        ...

    async def balances(self, mentor_id: uuid.UUID) -> Earnings | None: ...

    async def move(
        self,
        mentor_id: uuid.UUID,
        now: datetime,
        *,
        total: int = 0,
        available: int = 0,
        pending: int = 0,
        withdrawn: int = 0,
    ) -> Earnings | None:
        """Add the deltas in one statement where no balance goes below zero; the balances
        after, or None when one would (nothing changed)."""
        ...

    async def add_earning(self, txn: MentorTransaction) -> bool:
        """Insert an earning; False (nothing written) when its slot was credited before."""
        ...

    async def add_withdrawal(self, txn: MentorTransaction) -> bool:
        """Insert a withdrawal; False (nothing written) when the mentor has an open one."""
        ...

    async def get(self, txn_id: uuid.UUID) -> MentorTransaction | None: ...

    async def by_payout_id(self, payout_id: str) -> MentorTransaction | None: ...

    async def save(self, txn: MentorTransaction, expected: TxnStatus) -> bool:
        """Write the lifecycle columns if the row is still ``expected`` (compare-and-set)."""
        ...

    async def history(self, mentor_id: uuid.UUID, req: PageRequest) -> Page[MentorTransaction]:
        """The mentor's journal, newest first."""
        ...

    async def withdrawals(
        self, status: TxnStatus | None, req: PageRequest
    ) -> Page[tuple[MentorTransaction, str | None]]:
        """Every withdrawal (with the mentor's email), newest first."""
        ...

    async def payouts_in_flight(self, limit: int) -> list[MentorTransaction]:
        """``in_process`` RAZORPAY withdrawals, oldest first."""
        ...

    async def contact(self, user_id: uuid.UUID) -> MentorContact | None:
        """The user's email, name and role (identity's ``users``)."""
        ...

    async def admins(self, limit: int) -> list[MentorContact]:
        """Active (not blocked, not deleted) ADMIN and SUPERADMIN accounts, by id."""
        ...


class EarningsUnitOfWork(UnitOfWork, Protocol):
    mentor_earnings: EarningsRepository
