"""Mentor earnings on SQLite and PostgreSQL: the meeting credit, withdrawals and their
machine, RazorpayX payouts through the fake gateway, and concurrent credits and completions
on PostgreSQL (tokens-earnings.md §9 checks 11–17)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select, text

from mas.adapters.db.platform.tables import OutboxMessageRow
from mas.adapters.db.tokens.earnings_tables import MentorEarningsRow, MentorTransactionRow
from mas.adapters.fakes.payouts import FakePayouts
from mas.core.identity.policy import Caller, Platform, Role
from mas.core.platform.errors import (
    Conflict,
    ExternalUnavailable,
    Forbidden,
    InvalidState,
    NotConfigured,
    NotFound,
    UpstreamRejected,
    ValidationFailed,
)
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import PageRequest
from mas.core.tokens.earnings.model import (
    Earnings,
    PaymentMethod,
    PayoutMode,
    TxnStatus,
    TxnType,
    WithdrawRequest,
)
from mas.core.tokens.earnings.services import EarningsServices
from mas.modules.tokens.earnings import install
from tests.http.conftest import add_user

VALUE = 35000  # MAS_TOKEN_VALUE_PAISE's default


class FakePurse:
    """What the earnings part reads of the wallet: tokens net-held per slot."""

    def __init__(self) -> None:
        self.held: dict[uuid.UUID, int] = {}

    async def held_for_slot(self, uow: Any, slot_id: uuid.UUID) -> int:
        return self.held.get(slot_id, 0)


class World:
    def __init__(self, c: Any, purse: FakePurse, payouts: FakePayouts) -> None:
        self.c, self.purse, self.payouts = c, purse, payouts
        self.earnings: EarningsServices = install(c, purse, payouts)  # type: ignore[arg-type]

    async def mentor(self) -> Caller:
        user = await add_user(self.c, Role.EXPERT)
        return Caller(user_id=user.id, role=Role.EXPERT, platform=Platform.MR_MENTOR)

    async def admin(self) -> Caller:
        user = await add_user(self.c, Role.ADMIN)
        return Caller(user_id=user.id, role=Role.ADMIN, platform=Platform.MR_MENTOR)

    async def credit(self, mentor: Caller, tokens: int = 1) -> uuid.UUID:
        slot = uuid7()
        self.purse.held[slot] = tokens
        async with self.c.uow() as uow:
            result = await self.earnings.credit_meeting(uow, slot, mentor.user_id)
            await uow.commit()
        assert result.credited
        return slot

    async def balances(self, mentor: Caller) -> Earnings:
        async with self.c.uow() as uow:
            found = await uow.mentor_earnings.balances(mentor.user_id)
        assert found is not None
        return found.check()  # total = available + pending + withdrawn, every time

    async def withdraw(
        self, mentor: Caller, amount: int, destination: str = "mentor.one@okhdfc"
    ) -> uuid.UUID:
        view = await self.earnings.withdrawals.request(
            mentor,
            WithdrawRequest(
                amount_paise=amount, payment_method=PaymentMethod.UPI, bank_upi=destination
            ),
        )
        return view.id

    async def status(self, txn_id: uuid.UUID) -> TxnStatus | None:
        async with self.c.uow() as uow:
            txn = await uow.mentor_earnings.get(txn_id)
        assert txn is not None
        return txn.status


@pytest.fixture
def world(container: Any) -> World:
    return World(container, FakePurse(), FakePayouts())


async def count(c: Any, model: Any, *where: Any) -> int:
    async with c.uow() as uow:
        return int(
            (
                await uow.session.execute(select(func.count()).select_from(model).where(*where))
            ).scalar_one()
        )


async def test_a_completed_meeting_credits_its_mentor_once(world: World) -> None:
    mentor = await world.mentor()
    slot = await world.credit(mentor)  # check 11
    assert (await world.balances(mentor)) == Earnings(
        mentor_id=mentor.user_id, total_earnings_paise=VALUE, available_balance_paise=VALUE
    )
    assert await count(world.c, MentorTransactionRow, MentorTransactionRow.slot_id == slot) == 1
    async with world.c.uow() as uow:  # check 12
        again = await world.earnings.credit_meeting(uow, slot, mentor.user_id)
        await uow.commit()
    assert (again.credited, again.outcome) == (False, "already_credited")
    assert (await world.balances(mentor)).total_earnings_paise == VALUE
    history = await world.earnings.history(mentor.user_id, PageRequest(1, 10))
    assert [(t.type, t.amount_paise, t.tokens) for t in history.items] == [
        (TxnType.EARNING, VALUE, 1)
    ]


async def test_a_slot_that_held_nothing_earns_nothing(world: World) -> None:
    mentor = await world.mentor()
    async with world.c.uow() as uow:
        result = await world.earnings.credit_meeting(uow, uuid7(), mentor.user_id)
    assert (result.credited, result.outcome) == (False, "nothing_held")


async def test_the_credit_commits_or_rolls_back_with_the_callers_unit(world: World) -> None:
    mentor = await world.mentor()
    slot = uuid7()
    world.purse.held[slot] = 2
    async with world.c.uow() as uow:
        await world.earnings.credit_meeting(uow, slot, mentor.user_id)
        await uow.rollback()
    assert await count(world.c, MentorTransactionRow) == 0
    async with world.c.uow() as uow:
        result = await world.earnings.credit_meeting(uow, slot, mentor.user_id)
        await uow.commit()
    assert result.amount_paise == 2 * VALUE


async def test_without_a_purse_the_credit_is_not_configured(container: Any) -> None:
    earnings = install(container, None, None)
    async with container.uow() as uow:
        with pytest.raises(NotConfigured):
            await earnings.credit_meeting(uow, uuid7(), uuid7())


async def test_withdraw_complete_and_cancel(world: World) -> None:
    """Checks 13–15, from an available balance of 80000 (140000 earned, 60000 paid out)."""
    mentor, admin = await world.mentor(), await world.admin()
    await world.credit(mentor, tokens=4)
    paid = await world.withdraw(mentor, 60000)
    await world.earnings.withdrawals.complete(admin, paid, "UTR-EARLIER")
    assert (await world.balances(mentor)).available_balance_paise == 80000

    txn = await world.withdraw(mentor, 60000)  # check 13
    after = await world.balances(mentor)
    assert (after.available_balance_paise, after.pending_withdrawal_paise) == (20000, 60000)
    with pytest.raises(Conflict) as second:
        await world.withdraw(mentor, 50000)
    assert second.value.code == "withdrawal_open"
    done = await world.earnings.withdrawals.complete(admin, txn, "UTR123456")  # check 14
    assert (done.status, done.transaction_id) == (TxnStatus.COMPLETED, "UTR123456")
    after = await world.balances(mentor)
    assert (after.pending_withdrawal_paise, after.withdrawn_amount_paise) == (0, 120000)
    with pytest.raises(InvalidState):
        await world.earnings.withdrawals.complete(admin, txn, "UTR123456")
    with pytest.raises(InvalidState):
        await world.earnings.withdrawals.cancel(admin, txn, None)
    assert (await world.balances(mentor)).withdrawn_amount_paise == 120000

    await world.credit(mentor, tokens=2)  # 90000 available
    third = await world.withdraw(mentor, 50000)
    assert (await world.balances(mentor)).available_balance_paise == 40000
    cancelled = await world.earnings.withdrawals.cancel_own(mentor, third, None)  # check 15
    assert cancelled.status == TxnStatus.CANCELLED
    with pytest.raises(Conflict):
        await world.earnings.withdrawals.cancel_own(mentor, third, None)
    assert (await world.balances(mentor)) == Earnings(  # check 17
        mentor_id=mentor.user_id,
        total_earnings_paise=210000,
        available_balance_paise=90000,
        withdrawn_amount_paise=120000,
    )


async def test_withdrawal_rules(world: World) -> None:
    mentor = await world.mentor()
    await world.credit(mentor, tokens=2)  # 70000
    with pytest.raises(ValidationFailed) as low:
        await world.withdraw(mentor, 49999)
    assert low.value.code == "below_minimum"
    with pytest.raises(Conflict) as much:
        await world.withdraw(mentor, 70001)
    assert much.value.code == "insufficient_balance"
    for bad in ("not-a-vpa", "a@", "@bank", "x y@okhdfc"):
        with pytest.raises(ValidationFailed) as wrong:
            await world.withdraw(mentor, 50000, bad)
        assert wrong.value.code == "bad_destination"
    with pytest.raises(ValidationFailed):
        await world.earnings.withdrawals.request(
            mentor,
            WithdrawRequest(
                amount_paise=50000, payment_method=PaymentMethod.BANK, bank_upi="12345:HDFC0001234"
            ),
        )
    view = await world.earnings.withdrawals.request(
        mentor,
        WithdrawRequest(
            amount_paise=50000,
            payment_method=PaymentMethod.BANK,
            bank_upi="123456789012:hdfc0001234",
        ),
    )
    assert view.bank_upi == "XXXXXXXX9012:HDFC0001234"
    assert await count(world.c, MentorTransactionRow) == 2
    impersonated = Caller(
        user_id=mentor.user_id,
        role=Role.EXPERT,
        platform=Platform.MR_MENTOR,
        impersonated_by=uuid7(),
    )
    with pytest.raises(Forbidden):
        await world.earnings.withdrawals.cancel_own(impersonated, view.id, None)
    other = await world.mentor()
    with pytest.raises(NotFound):
        await world.earnings.withdrawals.cancel_own(other, view.id, None)


async def test_a_razorpay_payout_processed_completes_and_reversed_fails(world: World) -> None:
    mentor, admin = await world.mentor(), await world.admin()
    await world.credit(mentor, tokens=3)  # 105000
    txn = await world.withdraw(mentor, 60000)
    view = await world.earnings.withdrawals.process(admin, txn, PayoutMode.RAZORPAY)
    assert (view.status, view.razorpay_payout_id) == (TxnStatus.IN_PROCESS, "pout_fake_1")
    sent = world.payouts.payouts["pout_fake_1"]
    assert (sent.destination, sent.payout.amount_paise) == ("mentor.one@okhdfc", 60000)
    with pytest.raises(Conflict) as busy:  # a payout under way is not cancelled by hand
        await world.earnings.withdrawals.cancel(admin, txn, None)
    assert busy.value.code == "payout_in_flight"
    world.payouts.settle("pout_fake_1", "reversed")  # check 16
    assert await world.earnings.withdrawals.poll() == 1
    assert await world.status(txn) == TxnStatus.FAILED
    assert (await world.balances(mentor)).available_balance_paise == 105000
    assert await world.earnings.withdrawals.poll() == 0  # nothing in flight any more

    second = await world.withdraw(mentor, 60000)
    await world.earnings.withdrawals.process(admin, second, PayoutMode.RAZORPAY)
    world.payouts.settle("pout_fake_2", "processed")
    assert await world.earnings.withdrawals.poll() == 1
    assert await world.status(second) == TxnStatus.COMPLETED
    async with world.c.uow() as uow:
        mails = (
            await uow.session.execute(
                select(OutboxMessageRow.template, OutboxMessageRow.subject).order_by(
                    OutboxMessageRow.created_at, OutboxMessageRow.id
                )
            )
        ).all()
    assert [(template, subject) for template, subject in mails] == [
        ("earnings.withdrawal_requested", "Withdrawal of ₹600.00 requested"),
        ("earnings.withdrawal_failed", "Withdrawal of ₹600.00 failed"),
        ("earnings.withdrawal_requested", "Withdrawal of ₹600.00 requested"),
        ("earnings.withdrawal_completed", "Withdrawal of ₹600.00 paid"),
    ]
    assert (await world.balances(mentor)) == Earnings(
        mentor_id=mentor.user_id,
        total_earnings_paise=105000,
        available_balance_paise=45000,
        withdrawn_amount_paise=60000,
    )


async def test_a_refused_payout_stays_requested_and_a_lost_answer_is_recovered(
    world: World,
) -> None:
    mentor, admin = await world.mentor(), await world.admin()
    await world.credit(mentor, tokens=3)
    txn = await world.withdraw(mentor, 60000)
    world.payouts.refuse_next()
    with pytest.raises(UpstreamRejected):
        await world.earnings.withdrawals.process(admin, txn, PayoutMode.RAZORPAY)
    assert await world.status(txn) == TxnStatus.REQUESTED
    world.payouts.unreachable_next()  # RazorpayX made the payout but the answer was lost
    with pytest.raises(ExternalUnavailable):
        await world.earnings.withdrawals.process(admin, txn, PayoutMode.RAZORPAY)
    assert await world.status(txn) == TxnStatus.IN_PROCESS
    assert await world.earnings.withdrawals.poll() == 1  # asks again with the same key
    assert world.payouts.created == 1
    async with world.c.uow() as uow:
        recorded = await uow.mentor_earnings.get(txn)
    assert recorded is not None and recorded.razorpay_payout_id == "pout_fake_1"


async def test_razorpay_mode_without_a_gateway_is_not_configured(container: Any) -> None:
    world = World(container, FakePurse(), FakePayouts())
    earnings = install(container, world.purse, None)
    mentor, admin = await world.mentor(), await world.admin()
    await world.credit(mentor, tokens=2)
    txn = await world.withdraw(mentor, 50000)
    with pytest.raises(NotConfigured):
        await earnings.withdrawals.process(admin, txn, PayoutMode.RAZORPAY)
    assert await world.status(txn) == TxnStatus.REQUESTED
    view = await earnings.withdrawals.process(admin, txn, PayoutMode.MANUAL)
    assert view.status == TxnStatus.IN_PROCESS
    cancelled = await earnings.withdrawals.cancel(admin, txn, "bank details wrong")
    assert cancelled.status == TxnStatus.CANCELLED
    assert (await world.balances(mentor)).available_balance_paise == 70000


async def test_the_balance_row_refuses_an_unbalanced_write(world: World) -> None:
    mentor = await world.mentor()
    await world.credit(mentor)
    async with world.c.uow() as uow:
        with pytest.raises(Exception, match="(?i)check|constraint"):
            await uow.session.execute(
                text(
                    "UPDATE mentor_earnings SET available_balance_paise = 1 "
                    "WHERE total_earnings_paise > 0"
                )
            )


# --- concurrency on PostgreSQL ---------------------------------------------------------------


def _postgres_only(database: Any) -> None:
    if not database.url.startswith("postgresql"):
        pytest.skip("SQLite serialises writers: there is nothing concurrent to race")


@pytest.mark.committing
async def test_one_earning_credited_by_two_concurrent_transactions(
    container: Any, database: Any
) -> None:
    _postgres_only(database)
    world = World(container, FakePurse(), FakePayouts())
    mentor = await world.mentor()
    slot = uuid7()
    world.purse.held[slot] = 1
    started = asyncio.Event()
    release = asyncio.Event()

    async def first() -> bool:
        async with container.uow() as uow:
            result = await world.earnings.credit_meeting(uow, slot, mentor.user_id)
            started.set()
            await release.wait()
            await uow.commit()
        return result.credited

    async def second() -> bool:
        await started.wait()
        async with container.uow() as uow:
            waiting = asyncio.create_task(world.earnings.credit_meeting(uow, slot, mentor.user_id))
            await asyncio.sleep(0.3)
            assert not waiting.done(), "the second insert waits for the first transaction"
            release.set()
            result = await waiting
            await uow.commit()
        return result.credited

    assert sorted(await asyncio.gather(first(), second())) == [False, True]
    assert await count(container, MentorTransactionRow, MentorTransactionRow.slot_id == slot) == 1
    assert (await world.balances(mentor)).total_earnings_paise == VALUE


@pytest.mark.committing
async def test_many_concurrent_credits_of_one_slot_write_one_row(
    container: Any, database: Any
) -> None:
    _postgres_only(database)
    world = World(container, FakePurse(), FakePayouts())
    mentor = await world.mentor()
    slot = uuid7()
    world.purse.held[slot] = 1

    async def credit() -> bool:
        async with container.uow() as uow:
            result = await world.earnings.credit_meeting(uow, slot, mentor.user_id)
            await uow.commit()
        return result.credited

    outcomes = await asyncio.gather(*(credit() for _ in range(8)))
    assert outcomes.count(True) == 1
    assert (await world.balances(mentor)).available_balance_paise == VALUE


@pytest.mark.committing
async def test_a_withdrawal_completed_twice_at_once_completes_once(
    container: Any, database: Any
) -> None:
    _postgres_only(database)
    world = World(container, FakePurse(), FakePayouts())
    mentor, admin = await world.mentor(), await world.admin()
    await world.credit(mentor, tokens=3)
    txn = await world.withdraw(mentor, 60000)

    async def complete(reference: str) -> str:
        try:
            await world.earnings.withdrawals.complete(admin, txn, reference)
        except Conflict:
            return "refused"
        return "completed"

    outcomes = await asyncio.gather(*(complete(f"UTR{n}") for n in range(6)))
    assert outcomes.count("completed") == 1
    assert (await world.balances(mentor)) == Earnings(
        mentor_id=mentor.user_id,
        total_earnings_paise=105000,
        available_balance_paise=45000,
        withdrawn_amount_paise=60000,
    )
    assert await count(container, MentorEarningsRow) == 1


@pytest.mark.committing
async def test_two_concurrent_withdrawals_open_one(container: Any, database: Any) -> None:
    _postgres_only(database)
    world = World(container, FakePurse(), FakePayouts())
    mentor = await world.mentor()
    await world.credit(mentor, tokens=4)  # 140000: enough for both, but one may be open

    async def withdraw() -> str:
        try:
            await world.withdraw(mentor, 60000)
        except Conflict as refused:
            return refused.code
        return "requested"

    outcomes = sorted(await asyncio.gather(withdraw(), withdraw(), withdraw()))
    assert outcomes.count("requested") == 1
    after = await world.balances(mentor)
    assert (after.available_balance_paise, after.pending_withdrawal_paise) == (80000, 60000)


# --- with the wallet's own purse -------------------------------------------------------------


async def test_the_wallets_purse_says_what_a_meeting_earns(container: Any) -> None:
    """The manifest's services read the real ledger: booked minus refunded."""
    from mas.core.tokens.wallet.purse import TokenKind, UsageType

    earnings: EarningsServices = container.tokens.earnings
    purse = container.tokens.wallet.purse
    student = await add_user(container, Role.USER)
    mentor = await add_user(container, Role.EXPERT)
    booked, refunded = uuid7(), uuid7()
    async with container.uow() as uow:
        await purse.credit(
            uow,
            user_id=student.id,
            kind=TokenKind.MENTOR,
            tokens=2,
            usage_type=UsageType.BONUS,
            key=f"test-bonus:{student.id}",
        )
        await purse.hold_for_meeting(uow, student.id, booked)
        await purse.hold_for_meeting(uow, student.id, refunded)
        await purse.refund_meeting(uow, student.id, refunded, "mentor cancelled")
        await uow.commit()
    async with container.uow() as uow:
        paid = await earnings.credit_meeting(uow, booked, mentor.id)
        nothing = await earnings.credit_meeting(uow, refunded, mentor.id)
        await uow.commit()
    assert (paid.credited, paid.amount_paise) == (True, VALUE)
    assert (nothing.credited, nothing.outcome) == (False, "nothing_held")
    async with container.uow() as uow:
        balances = await uow.mentor_earnings.balances(mentor.id)
    assert balances is not None and balances.check().available_balance_paise == VALUE


async def test_the_poll_cron_settles_payouts(world: World) -> None:
    from mas.core.platform.tasking import NoArgs
    from mas.core.tokens.handlers import CRONS

    assert {task.name: cron for task, cron in CRONS.items()}["earnings.poll_payouts"] == (
        "*/15 * * * *"
    )
    mentor, admin = await world.mentor(), await world.admin()
    await world.credit(mentor, tokens=2)
    txn = await world.withdraw(mentor, 50000)
    await world.earnings.withdrawals.process(admin, txn, PayoutMode.RAZORPAY)
    world.payouts.settle("pout_fake_1", "processed")
    bound = world.c.tasks["earnings.poll_payouts"]
    await bound.handler.run(bound.services, NoArgs())
    assert await world.status(txn) == TxnStatus.COMPLETED
