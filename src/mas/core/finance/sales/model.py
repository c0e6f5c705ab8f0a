"""Discount requests and the pipeline cost ledger (payments-finance.md §3 DiscountRequest,
PipelineCostEntry; §4 DiscountRequest machine).

A request moves only along ``MOVES``; the repository applies a move as one conditional UPDATE
on the current status (a CAS), so two admins, or an admin and the expiry job, cannot both win.
Money is integer paise; a cost is integer millipaise (1/1000 paise) so a sub-paisa LLM call is
exact, and a USD-billed cost keeps its original micros and the rate used (parts per million).
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime, timedelta
from typing import Annotated

import msgspec

from mas.core.platform.bounds import EmailAddress
from mas.core.platform.errors import InvalidState

APPROVAL_VALID = timedelta(days=14)
PENDING_TTL = timedelta(days=7)
MAX_PRICE_PAISE = 10**10
"""₹10 crore: bounds every price a body may carry."""

Paise = Annotated[int, msgspec.Meta(ge=1, le=MAX_PRICE_PAISE)]
Reason = Annotated[str, msgspec.Meta(min_length=10, max_length=1000)]
Note = Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]


class DiscountStatus(enum.StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"
    CONSUMED = "CONSUMED"


ACTIVE = frozenset({DiscountStatus.PENDING, DiscountStatus.APPROVED})

MOVES: dict[DiscountStatus, frozenset[DiscountStatus]] = {
    DiscountStatus.PENDING: frozenset(
        {
            DiscountStatus.APPROVED,
            DiscountStatus.REJECTED,
            DiscountStatus.CANCELLED,
            DiscountStatus.EXPIRED,
        }
    ),
    DiscountStatus.APPROVED: frozenset(
        {DiscountStatus.CONSUMED, DiscountStatus.EXPIRED, DiscountStatus.CANCELLED}
    ),
    DiscountStatus.REJECTED: frozenset(),
    DiscountStatus.CANCELLED: frozenset(),
    DiscountStatus.EXPIRED: frozenset(),
    DiscountStatus.CONSUMED: frozenset(),
}


def check_move(current: DiscountStatus, target: DiscountStatus) -> None:
    if target not in MOVES[current]:
        raise InvalidState("discount request", current.value, target.value)


class DiscountRequest(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    student_user_id: uuid.UUID | None
    student_email: str
    batch_id: uuid.UUID
    batch_fee_paise: int
    requested_price_paise: int
    approved_price_paise: int | None
    reason: str
    status: DiscountStatus
    requested_by: uuid.UUID
    decided_by: uuid.UUID | None
    decided_at: datetime | None
    decision_note: str | None
    valid_until: datetime | None
    consumed_payment_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    """What a move writes besides the status."""

    decided_by: uuid.UUID | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None
    approved_price_paise: int | None = None
    valid_until: datetime | None = None
    consumed_payment_id: uuid.UUID | None = None


class NewDiscountRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    student_email: EmailAddress
    batch_id: uuid.UUID
    requested_price_paise: Paise
    reason: Reason
    student_user_id: uuid.UUID | None = None


class Approval(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    approved_price_paise: Paise | None = None
    """Any value in [requested, fee); the requested price when absent."""
    note: Note | None = None


class DecisionNote(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    note: Note


class EffectivePrice(msgspec.Struct, frozen=True, kw_only=True):
    batch_id: uuid.UUID
    student_email: str
    batch_fee_paise: int
    price_paise: int
    discount_request_id: uuid.UUID | None
    valid_until: datetime | None


class CostStage(enum.StrEnum):
    SCREENING = "SCREENING"
    AI_CALL = "AI_CALL"
    INTERVIEW = "INTERVIEW"
    OTHER = "OTHER"


class CostProvider(enum.StrEnum):
    LLM_GATEWAY = "LLM_GATEWAY"
    ELEVENLABS = "ELEVENLABS"
    EXOTEL = "EXOTEL"
    LIVEKIT = "LIVEKIT"
    JUDGE0 = "JUDGE0"
    OTHER = "OTHER"


class UnitType(enum.StrEnum):
    TOKENS = "TOKENS"
    SECONDS = "SECONDS"
    CALLS = "CALLS"


Currency = Annotated[str, msgspec.Meta(min_length=3, max_length=3, pattern=r"^[A-Z]{3}$")]
CostKey = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$")]


class PipelineCostInput(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One provider call's cost (``CostRecorder.record``; the admin route takes the same)."""

    job_id: uuid.UUID
    candidate_id: uuid.UUID | None = None
    stage: CostStage
    provider: CostProvider
    units: Annotated[int, msgspec.Meta(ge=0, le=10**12)]
    unit_type: UnitType
    cost_millipaise: Annotated[int, msgspec.Meta(ge=0, le=10**15)]
    original_amount_micros: Annotated[int, msgspec.Meta(ge=0, le=10**15)] | None = None
    original_currency: Currency | None = None
    fx_rate_ppm: Annotated[int, msgspec.Meta(ge=1, le=10**12)] | None = None
    idempotency_key: CostKey
    """The provider's call id: the same key twice is one entry."""
    occurred_at: Annotated[datetime, msgspec.Meta(tz=True)]


class PipelineCostEntry(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    job_id: uuid.UUID
    candidate_id: uuid.UUID | None
    stage: CostStage
    provider: CostProvider
    units: int
    unit_type: UnitType
    cost_millipaise: int
    original_amount_micros: int | None
    original_currency: str | None
    fx_rate_ppm: int | None
    idempotency_key: str
    occurred_at: datetime
    created_at: datetime


class Recorded(msgspec.Struct, frozen=True, kw_only=True):
    entry: PipelineCostEntry
    created: bool
    """False when the key was recorded before (the stored entry is returned unchanged)."""


class CostTotal(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    entries: int
    cost_millipaise: int


class JobCosts(msgspec.Struct, frozen=True, kw_only=True):
    job_id: uuid.UUID
    entries: list[PipelineCostEntry]
    total_millipaise: int
    by_stage: list[CostTotal]
    by_provider: list[CostTotal]


class CostSummary(msgspec.Struct, frozen=True, kw_only=True):
    date_from: date
    date_to: date
    group_by: str
    total_millipaise: int
    groups: list[CostTotal]
