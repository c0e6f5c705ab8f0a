"""Mentor earnings: the balances, the journal of earnings and withdrawals, the withdrawal
state machine, and what the API shows (tokens-earnings.md §3–§5).

Balances move only by deltas the database applies atomically, and every write keeps
``total = available + pending + withdrawn`` (a check constraint on the row, asserted again in
``Earnings.check``). A journal row's type, amount, mentor and slot never change; only a
withdrawal's lifecycle columns do, and only by a compare-and-set on its status.
"""

from __future__ import annotations

import enum
import re
import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from mas.core.platform.errors import FieldError, InvalidState, ValidationFailed


class TxnType(enum.StrEnum):
    EARNING = "earning"
    WITHDRAWAL = "withdrawal"
    ADJUSTMENT = "adjustment"


class TxnStatus(enum.StrEnum):
    REQUESTED = "requested"
    IN_PROCESS = "in_process"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


class PaymentMethod(enum.StrEnum):
    UPI = "UPI"
    BANK = "BANK"


class PayoutMode(enum.StrEnum):
    MANUAL = "MANUAL"
    RAZORPAY = "RAZORPAY"


OPEN = frozenset({TxnStatus.REQUESTED, TxnStatus.IN_PROCESS})
MOVES: dict[TxnStatus, frozenset[TxnStatus]] = {
    TxnStatus.REQUESTED: frozenset(
        {TxnStatus.IN_PROCESS, TxnStatus.COMPLETED, TxnStatus.CANCELLED}
    ),
    TxnStatus.IN_PROCESS: frozenset(
        {TxnStatus.REQUESTED, TxnStatus.COMPLETED, TxnStatus.CANCELLED, TxnStatus.FAILED}
    ),
    TxnStatus.COMPLETED: frozenset(),
    TxnStatus.CANCELLED: frozenset(),
    TxnStatus.FAILED: frozenset(),
}
"""Where a withdrawal may go (§4). ``in_process → requested`` only undoes a payout the gateway
refused at once; cancelling ``in_process`` is further limited to MANUAL mode."""


class Earnings(msgspec.Struct, frozen=True, kw_only=True):
    mentor_id: uuid.UUID
    total_earnings_paise: int = 0
    available_balance_paise: int = 0
    pending_withdrawal_paise: int = 0
    withdrawn_amount_paise: int = 0

    def check(self) -> Earnings:
        parts = (
            self.available_balance_paise
            + self.pending_withdrawal_paise
            + self.withdrawn_amount_paise
        )
        if (
            self.total_earnings_paise != parts
            or min(
                self.available_balance_paise,
                self.pending_withdrawal_paise,
                self.withdrawn_amount_paise,
            )
            < 0
        ):
            raise AssertionError(f"mentor earnings out of balance: {self}")
        return self


class MentorTransaction(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    mentor_id: uuid.UUID
    type: TxnType
    amount_paise: int
    created_at: datetime
    status: TxnStatus | None = None
    slot_id: uuid.UUID | None = None
    tokens: int | None = None
    token_value_paise: int | None = None
    payment_method: PaymentMethod | None = None
    bank_upi: str | None = None
    payout_mode: PayoutMode | None = None
    transaction_id: str | None = None
    razorpay_payout_id: str | None = None
    description: str | None = None
    failure_reason: str | None = None
    processed_by: uuid.UUID | None = None
    completed_at: datetime | None = None

    @property
    def withdrawn(self) -> int:
        """The money a withdrawal takes (its amount is stored negative)."""
        return -self.amount_paise

    def moved(self, target: TxnStatus, **changes: object) -> MentorTransaction:
        current = self.status or TxnStatus.COMPLETED
        if target not in MOVES[current]:
            raise InvalidState("withdrawal", current.value, target.value)
        return msgspec.structs.replace(self, status=target, **changes)


_VPA = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,255}@[A-Za-z][A-Za-z0-9]{1,63}$")
_BANK = re.compile(r"^(?P<account>\d{9,18}):(?P<ifsc>[A-Z]{4}0[A-Z0-9]{6})$")


def check_destination(method: PaymentMethod, destination: str) -> str:
    """The UPI VPA or ``account:IFSC`` as stored (422 when it is neither)."""
    value = destination.strip()
    if method is PaymentMethod.UPI and _VPA.match(value):
        return value
    if method is PaymentMethod.BANK and _BANK.match(value.upper()):
        return value.upper()
    expected = "a UPI id (name@bank)" if method is PaymentMethod.UPI else "account:IFSC"
    message = f"must be {expected}"
    raise ValidationFailed(
        f"bank_upi {message}", code="bad_destination", errors=[FieldError("bank_upi", message)]
    )


def split_bank(destination: str) -> tuple[str, str]:
    account, _, ifsc = destination.partition(":")
    return account, ifsc


def mask(destination: str | None) -> str | None:
    """A VPA or ``account:IFSC`` with all but its last characters hidden."""
    if destination is None:
        return None
    if "@" in destination:
        handle, _, bank = destination.partition("@")
        return f"{handle[:2]}{'*' * max(len(handle) - 2, 3)}@{bank}"
    account, ifsc = split_bank(destination)
    return f"{'X' * max(len(account) - 4, 4)}{account[-4:]}:{ifsc}"


# --- what the API shows and takes ----------------------------------------------------------------

Paise = Annotated[int, msgspec.Meta(ge=1, le=10**11)]
Reason = Annotated[str, msgspec.Meta(min_length=3, max_length=500)]
Reference = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"\S")]
Destination = Annotated[str, msgspec.Meta(min_length=3, max_length=255)]


class TransactionView(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    mentor_id: uuid.UUID
    type: TxnType
    amount_paise: int
    status: TxnStatus | None
    slot_id: uuid.UUID | None
    tokens: int | None
    token_value_paise: int | None
    payment_method: PaymentMethod | None
    bank_upi: str | None
    payout_mode: PayoutMode | None
    transaction_id: str | None
    razorpay_payout_id: str | None
    description: str | None
    failure_reason: str | None
    processed_by: uuid.UUID | None
    created_at: datetime
    completed_at: datetime | None
    mentor_email: str | None = None

    @classmethod
    def of(
        cls, txn: MentorTransaction, *, reveal: bool = False, mentor_email: str | None = None
    ) -> TransactionView:
        fields = msgspec.structs.asdict(txn)
        if not reveal:
            fields["bank_upi"] = mask(txn.bank_upi)
        return cls(**fields, mentor_email=mentor_email)


class EarningsView(msgspec.Struct, frozen=True, kw_only=True):
    mentor_id: uuid.UUID
    total_earnings_paise: int
    available_balance_paise: int
    pending_withdrawal_paise: int
    withdrawn_amount_paise: int
    last_transaction: TransactionView | None


class MentorEarningsDetail(msgspec.Struct, frozen=True, kw_only=True):
    earnings: EarningsView
    transactions: list[TransactionView]
    transactions_total: int


class WithdrawRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    amount_paise: Paise
    payment_method: PaymentMethod
    bank_upi: Destination


class ProcessRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    mode: PayoutMode


class CompleteRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    transaction_id: uuid.UUID
    reference: Reference


class CancelRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(max_length=500)] | None = None


class CreditMeetingRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    slot_id: uuid.UUID
    mentor_id: uuid.UUID
    reason: Reason


class CreditResult(msgspec.Struct, frozen=True, kw_only=True):
    """``credited`` False: the slot was credited before (``already_credited``) or held no
    token (``nothing_held``); nothing changed."""

    credited: bool
    outcome: Annotated[str, msgspec.Meta(max_length=20)]
    amount_paise: int
    transaction_id: uuid.UUID | None


class PayoutReceipt(msgspec.Struct, frozen=True):
    applied: bool
    """False when the event changed nothing (an unknown payout, a replay, another event)."""
