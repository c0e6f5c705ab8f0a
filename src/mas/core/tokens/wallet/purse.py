"""The purse: how tokens move, inside the caller's unit of work (the wallet part implements it).

Every movement is one wallet update and one append-only ledger row (``token_usage``) with the
balance before and after, keyed by an idempotency key: a key used before moves nothing and
returns None, so a replayed job, a retried transaction or two concurrent ones move tokens once.
A debit the balance does not cover raises ``InsufficientTokens`` (402) and the caller's
transaction rolls back. Spends take ACTIVE promotional grant tokens first, then the wallet.

The purchases and earnings parts use it; the mentorship domain holds and refunds a meeting's
token through it (``TokensServices.wallet.purse``), in the same transaction as the slot change.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Protocol

import msgspec

from mas.core.platform.errors import PaymentRequired
from mas.core.platform.ports.uow import UnitOfWork


class TokenKind(enum.StrEnum):
    MENTOR = "MENTOR"
    RESUME = "RESUME"


class UsageType(enum.StrEnum):
    MEETING_BOOKING = "meeting_booking"
    PENALTY = "penalty"
    REFUND = "refund"
    BONUS = "bonus"
    PURCHASE = "purchase"
    PROMO_GRANT = "promo_grant"
    PROMO_EXPIRY = "promo_expiry"
    ALLOTMENT = "allotment"
    RESUME_REVIEW = "resume_review"
    ADMIN_ADJUSTMENT = "admin_adjustment"


class Direction(enum.StrEnum):
    CREDIT = "CREDIT"
    DEBIT = "DEBIT"


class Source(enum.StrEnum):
    WALLET = "WALLET"
    GRANT = "GRANT"


class Movement(msgspec.Struct, frozen=True, kw_only=True):
    """One ledger row."""

    id: uuid.UUID
    user_id: uuid.UUID
    kind: TokenKind
    direction: Direction
    usage_type: UsageType
    tokens: int
    source: Source
    balance_before: int
    balance_after: int
    key: str
    created_at: datetime
    slot_id: uuid.UUID | None = None
    reference_id: str | None = None
    description: str | None = None
    actor_id: uuid.UUID | None = None


class InsufficientTokens(PaymentRequired):
    code = "insufficient_tokens"


class Purse(Protocol):
    async def credit(
        self,
        uow: UnitOfWork,
        *,
        user_id: uuid.UUID,
        kind: TokenKind,
        tokens: int,
        usage_type: UsageType,
        key: str,
        slot_id: uuid.UUID | None = None,
        reference_id: str | None = None,
        description: str | None = None,
        actor_id: uuid.UUID | None = None,
    ) -> list[Movement] | None:
        """Add ``tokens`` (> 0) to the wallet; None when ``key`` was used before."""
        ...

    async def debit(
        self,
        uow: UnitOfWork,
        *,
        user_id: uuid.UUID,
        kind: TokenKind,
        tokens: int,
        usage_type: UsageType,
        key: str,
        slot_id: uuid.UUID | None = None,
        reference_id: str | None = None,
        description: str | None = None,
        actor_id: uuid.UUID | None = None,
    ) -> list[Movement] | None:
        """Take ``tokens`` (> 0), grant first: one ledger row per bucket moved. None when
        ``key`` was used before; ``InsufficientTokens`` when the balance does not cover it."""
        ...

    async def hold_for_meeting(
        self, uow: UnitOfWork, student_id: uuid.UUID, slot_id: uuid.UUID
    ) -> list[Movement] | None:
        """Debit 1 MENTOR token for a booking (key ``book:<slot>``)."""
        ...

    async def refund_meeting(
        self, uow: UnitOfWork, student_id: uuid.UUID, slot_id: uuid.UUID, reason: str
    ) -> list[Movement] | None:
        """Credit back exactly what ``book:<slot>`` took (key ``refund:<slot>``); None when
        refunded before or nothing was held."""
        ...

    async def held_for_slot(self, uow: UnitOfWork, slot_id: uuid.UUID) -> int:
        """MENTOR tokens net-held for ``slot_id`` (booked minus refunded): what a completed
        meeting earns its mentor."""
        ...
