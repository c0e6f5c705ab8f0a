"""Mentor earnings rules without I/O: destinations, masking, the withdrawal machine, the
balance invariant, the mails, the fake gateway and the webhook signature."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import UTC, datetime

import pytest

from mas.adapters.fakes.payouts import FakePayouts
from mas.core.platform.errors import (
    ExternalUnavailable,
    InvalidState,
    Unauthorized,
    UpstreamRejected,
    ValidationFailed,
)
from mas.core.tokens.earnings.mails import MAIL_TEMPLATES, rupees
from mas.core.tokens.earnings.model import (
    Earnings,
    MentorTransaction,
    PaymentMethod,
    TransactionView,
    TxnStatus,
    TxnType,
    check_destination,
    mask,
)
from mas.core.tokens.earnings.ports import PayoutStatus
from mas.core.tokens.earnings.services import EarningsServices

NOW = datetime(2026, 12, 4, tzinfo=UTC)


def withdrawal(status: TxnStatus = TxnStatus.REQUESTED) -> MentorTransaction:
    return MentorTransaction(
        id=uuid.uuid4(),
        mentor_id=uuid.uuid4(),
        type=TxnType.WITHDRAWAL,
        amount_paise=-60000,
        created_at=NOW,
        status=status,
        payment_method=PaymentMethod.UPI,
        bank_upi="asha.rao@okicici",
    )


@pytest.mark.parametrize("vpa", ["asha.rao@okicici", "98765-43210@ybl", "a_b@paytm"])
def test_a_vpa_is_kept_as_given(vpa: str) -> None:
    assert check_destination(PaymentMethod.UPI, f" {vpa} ") == vpa


@pytest.mark.parametrize("vpa", ["asha", "@okicici", "a@", "a b@okicici", "a@ok-icici", "x@1bank"])
def test_a_bad_vpa_is_refused(vpa: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_destination(PaymentMethod.UPI, vpa)
    assert refused.value.code == "bad_destination"


def test_a_bank_account_is_account_colon_ifsc() -> None:
    assert check_destination(PaymentMethod.BANK, "123456789012:hdfc0001234") == (
        "123456789012:HDFC0001234"
    )
    for bad in ("12345678:HDFC0001234", "123456789012:HDFC1001234", "123456789012", "asha@okicici"):
        with pytest.raises(ValidationFailed):
            check_destination(PaymentMethod.BANK, bad)
    with pytest.raises(ValidationFailed):
        check_destination(PaymentMethod.UPI, "123456789012:HDFC0001234")


def test_masking_hides_all_but_the_ends() -> None:
    assert mask("asha.rao@okicici") == "as******@okicici"
    assert mask("ab@ybl") == "ab***@ybl"
    assert mask("123456789012:HDFC0001234") == "XXXXXXXX9012:HDFC0001234"
    assert mask(None) is None
    txn = withdrawal()
    assert TransactionView.of(txn).bank_upi == "as******@okicici"
    assert TransactionView.of(txn, reveal=True).bank_upi == "asha.rao@okicici"


def test_the_withdrawal_machine() -> None:
    txn = withdrawal()
    assert txn.withdrawn == 60000
    assert txn.moved(TxnStatus.IN_PROCESS).status is TxnStatus.IN_PROCESS
    assert txn.moved(TxnStatus.COMPLETED, transaction_id="UTR1").transaction_id == "UTR1"
    for closed in (TxnStatus.COMPLETED, TxnStatus.CANCELLED, TxnStatus.FAILED):
        for target in TxnStatus:
            with pytest.raises(InvalidState) as refused:
                withdrawal(closed).moved(target)
            assert closed.value in str(refused.value) and target.value in str(refused.value)
    with pytest.raises(InvalidState):
        txn.moved(TxnStatus.FAILED)  # only a payout under way fails


def test_the_balance_invariant() -> None:
    mentor = uuid.uuid4()
    fine = Earnings(
        mentor_id=mentor,
        total_earnings_paise=100,
        available_balance_paise=20,
        pending_withdrawal_paise=30,
        withdrawn_amount_paise=50,
    )
    assert fine.check() is fine
    with pytest.raises(AssertionError):
        Earnings(mentor_id=mentor, total_earnings_paise=1).check()
    with pytest.raises(AssertionError):
        Earnings(mentor_id=mentor, available_balance_paise=-1, withdrawn_amount_paise=1).check()


def test_the_mails_render() -> None:
    data = {"name": "Asha", "amount_paise": 6000050, "reference": "UTR9", "reason": "closed"}
    data |= {"waiting": 2, "new": 1, "lines": ["₹600.00 by a@example.com"]}
    assert rupees(6000050) == "₹60,000.50"
    subjects = {name: render(data).subject for name, render in MAIL_TEMPLATES.items()}
    assert subjects == {
        "earnings.withdrawal_requested": "Withdrawal of ₹60,000.50 requested",
        "earnings.withdrawal_completed": "Withdrawal of ₹60,000.50 paid",
        "earnings.withdrawal_failed": "Withdrawal of ₹60,000.50 failed",
        "earnings.withdrawal_digest": "2 withdrawals waiting for payment",
    }
    digest = MAIL_TEMPLATES["earnings.withdrawal_digest"](data).text
    assert "1 new since yesterday" in digest and "- ₹600.00 by a@example.com" in digest
    assert "UTR9" in MAIL_TEMPLATES["earnings.withdrawal_completed"](data).text
    assert "closed" in MAIL_TEMPLATES["earnings.withdrawal_failed"](data).text


async def test_the_fake_gateway() -> None:
    gateway = FakePayouts()
    first = await gateway.create_payout(60000, "UPI", "a@ybl", "Asha", "k1")
    assert (first.id, first.status) == ("pout_fake_1", PayoutStatus.PROCESSING)
    assert (await gateway.create_payout(60000, "UPI", "a@ybl", "Asha", "k1")).id == first.id
    assert gateway.settle(first.id, "processed").utr
    assert (await gateway.fetch_payout(first.id)).status is PayoutStatus.PROCESSED
    gateway.refuse_next()
    with pytest.raises(UpstreamRejected):
        await gateway.create_payout(1, "UPI", "a@ybl", "Asha", "k2")
    gateway.unreachable_next()
    with pytest.raises(ExternalUnavailable):
        await gateway.create_payout(1, "UPI", "a@ybl", "Asha", "k3")
    assert (await gateway.create_payout(1, "UPI", "a@ybl", "Asha", "k3")).id == "pout_fake_2"
    with pytest.raises(UpstreamRejected):
        await gateway.fetch_payout("pout_missing")


def services(secret: str) -> EarningsServices:
    return EarningsServices(  # type: ignore[arg-type]
        uow=None, credit=None, withdrawals=None, webhook_secret=secret, digest=None
    )


def test_the_webhook_signature() -> None:
    body = b'{"event": "payout.processed"}'
    good = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    services("s3cret").verify(body, good)
    for wrong in (None, "", "0" * 64, good.upper() + "x"):
        with pytest.raises(Unauthorized):
            services("s3cret").verify(body, wrong)
    with pytest.raises(Unauthorized):
        services("s3cret").verify(body + b" ", good)
    with pytest.raises(Unauthorized):  # no secret: nothing can be authenticated
        services("").verify(body, good)
