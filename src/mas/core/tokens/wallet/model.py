"""The wallet part's records and state machines: promotional grants, allotment requests, the
balance a person reads, and the bodies an admin or a student sends.

Grants and requests change state only through ``GRANT_MOVES`` / ``ALLOTMENT_MOVES``; the
repositories apply a move as one conditional UPDATE on the current status (a CAS), so two
deciders, or a decider and the expiry job, cannot both win.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from mas.core.platform.errors import InvalidState

# The balance a person reads is the platform's shape (other domains read it through the port).
from mas.core.platform.ports.balances import Balance as Balance
from mas.core.platform.ports.balances import KindBalance as KindBalance
from mas.core.tokens.wallet.purse import Movement, TokenKind

GRANT_MAX_DAYS = 365
ALLOTMENT_TTL_DAYS = 14
ALLOTMENT_MONTHLY_CAP = 10
"""Tokens approved per student per batch per calendar month (UTC): ``allotment_cap``."""


class GrantStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    EXHAUSTED = "EXHAUSTED"
    EXPIRED = "EXPIRED"
    REVOKED = "REVOKED"


GRANT_MOVES: dict[GrantStatus, frozenset[GrantStatus]] = {
    GrantStatus.ACTIVE: frozenset(
        {GrantStatus.EXHAUSTED, GrantStatus.EXPIRED, GrantStatus.REVOKED}
    ),
    GrantStatus.EXHAUSTED: frozenset(),
    GrantStatus.EXPIRED: frozenset(),
    GrantStatus.REVOKED: frozenset(),
}


class AllotmentStatus(enum.StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    WITHDRAWN = "WITHDRAWN"
    EXPIRED = "EXPIRED"


ALLOTMENT_MOVES: dict[AllotmentStatus, frozenset[AllotmentStatus]] = {
    AllotmentStatus.PENDING: frozenset(
        {
            AllotmentStatus.APPROVED,
            AllotmentStatus.REJECTED,
            AllotmentStatus.WITHDRAWN,
            AllotmentStatus.EXPIRED,
        }
    ),
    AllotmentStatus.APPROVED: frozenset(),
    AllotmentStatus.REJECTED: frozenset(),
    AllotmentStatus.WITHDRAWN: frozenset(),
    AllotmentStatus.EXPIRED: frozenset(),
}


def check_grant_move(current: GrantStatus, target: GrantStatus) -> None:
    if target not in GRANT_MOVES[current]:
        raise InvalidState("grant", current.value, target.value)


def check_allotment_move(current: AllotmentStatus, target: AllotmentStatus) -> None:
    if target not in ALLOTMENT_MOVES[current]:
        raise InvalidState("allotment request", current.value, target.value)


class Grant(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    user_id: uuid.UUID
    token_kind: TokenKind
    tokens_granted: int
    tokens_remaining: int
    expires_at: datetime
    reason: str
    granted_by: uuid.UUID | None
    status: GrantStatus
    created_at: datetime
    closed_at: datetime | None = None

    def spendable(self, now: datetime) -> int:
        """What a spend may take: an ACTIVE grant before its expiry (the job closes it later)."""
        if self.status is GrantStatus.ACTIVE and self.expires_at > now:
            return self.tokens_remaining
        return 0


class AllotmentRequest(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    student_id: uuid.UUID
    batch_id: uuid.UUID
    batch_lead_id: uuid.UUID | None
    token_kind: TokenKind
    tokens_requested: int
    reason: str
    status: AllotmentStatus
    created_at: datetime
    updated_at: datetime
    decided_by: uuid.UUID | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None


class WalletState(msgspec.Struct, frozen=True, kw_only=True):
    """A wallet row as read (under its row lock when the purse reads it)."""

    mentor: int
    resume: int

    def of(self, kind: TokenKind) -> int:
        return self.mentor if kind is TokenKind.MENTOR else self.resume


class Drift(msgspec.Struct, frozen=True, kw_only=True):
    """One bucket whose stored balance differs from the replay of its ledger rows."""

    user_id: uuid.UUID
    kind: TokenKind
    bucket: str
    stored: int
    ledger: int


class DriftReport(msgspec.Struct, frozen=True, kw_only=True):
    users_checked: int
    drifts: list[Drift]


Tokens = Annotated[int, msgspec.Meta(ge=1, le=10_000)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
IdempotencyKey = Annotated[
    str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9:_.\-]+$")
]


# Body members are never named ``tokens``: Litestar reports a validation error on a top-level
# member named like a handler's dependency (``tokens``, the domain's services) as a 500.


class NewGrant(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    user_id: uuid.UUID
    token_kind: TokenKind = TokenKind.MENTOR
    token_count: Tokens
    expires_at: datetime
    reason: Reason


class Adjustment(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A signed admin correction: ``token_delta`` > 0 credits the wallet, < 0 debits it."""

    user_id: uuid.UUID
    token_kind: TokenKind = TokenKind.MENTOR
    token_delta: Annotated[int, msgspec.Meta(ge=-10_000, le=10_000)]
    reason: Reason
    idempotency_key: IdempotencyKey


class ManualDebit(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    user_id: uuid.UUID
    kind: TokenKind = TokenKind.MENTOR
    token_count: Tokens
    reason: Reason
    idempotency_key: IdempotencyKey


class NewAllotmentRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    batch_id: uuid.UUID
    token_kind: TokenKind = TokenKind.MENTOR
    tokens_requested: Annotated[int, msgspec.Meta(ge=1, le=5)]
    reason: Annotated[str, msgspec.Meta(min_length=10, max_length=500)]


class Decision(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    note: Annotated[str, msgspec.Meta(min_length=1, max_length=500)] | None = None


class MovementResult(msgspec.Struct, frozen=True, kw_only=True):
    """What a manual movement did: its ledger rows, or none when the key was used before."""

    applied: bool
    rows: list[Movement]
