"""The wallet on SQLite and PostgreSQL: the purse (grant first, keyed, refunds), grants and
their expiry, allotment requests, the ledger check, and the wallet of a new account
(tokens-earnings.md §9 checks 1, 6, 7, 8, 9, 10, 17)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from mas.adapters.db.tokens.wallet_tables import PromotionalGrantRow, TokenWalletRow, token_usage
from mas.core.identity.model import User
from mas.core.identity.policy import Caller, Platform, Role
from mas.core.platform.errors import Conflict, Forbidden, NotFound, ValidationFailed
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import PageRequest
from mas.core.tokens.wallet.model import (
    Adjustment,
    AllotmentStatus,
    Decision,
    GrantStatus,
    ManualDebit,
    NewAllotmentRequest,
    NewGrant,
)
from mas.core.tokens.wallet.purse import (
    Direction,
    InsufficientTokens,
    Source,
    TokenKind,
    UsageType,
)
from tests.support import eventually


async def person(c: Any, role: Role = Role.USER) -> Caller:
    user = User(
        id=uuid7(),
        email=f"{role.value.lower()}-{uuid.uuid4().hex[:8]}@example.com",
        role=role,
        created_at=c.clock.now(),
    )
    async with c.uow() as uow:
        await uow.users.add(user)
        await uow.commit()
    return Caller(user_id=user.id, role=role, platform=Platform.MY_ANALYTICS_SCHOOL)


async def credit(c: Any, user: Caller, tokens: int, key: str | None = None) -> Any:
    async with c.uow() as uow:
        rows = await c.tokens.wallet.purse.credit(
            uow,
            user_id=user.user_id,
            kind=TokenKind.MENTOR,
            tokens=tokens,
            usage_type=UsageType.PURCHASE,
            key=key or f"purchase:{uuid.uuid4()}",
        )
        await uow.commit()
    return rows


async def hold(c: Any, user: Caller, slot: uuid.UUID) -> Any:
    async with c.uow() as uow:
        rows = await c.tokens.wallet.purse.hold_for_meeting(uow, user.user_id, slot)
        await uow.commit()
    return rows


async def refund(c: Any, user: Caller, slot: uuid.UUID) -> Any:
    async with c.uow() as uow:
        rows = await c.tokens.wallet.purse.refund_meeting(uow, user.user_id, slot, "cancelled")
        await uow.commit()
    return rows


async def grant(c: Any, admin: Caller, user: Caller, tokens: int, days: int = 30) -> Any:
    return await c.tokens.wallet.accounts.grant(
        admin,
        NewGrant(
            user_id=user.user_id,
            token_count=tokens,
            expires_at=c.clock.now() + timedelta(days=days),
            reason="welcome",
        ),
    )


async def total(c: Any, user: Caller) -> int:
    return int((await c.tokens.wallet.accounts.balance(user.user_id)).mentor.total)


async def ledger_rows(c: Any, user: Caller) -> list[Any]:
    async with c.sessions() as session:
        found = await session.execute(
            select(token_usage)
            .where(token_usage.c.user_id == user.user_id)
            .order_by(token_usage.c.id)
        )
        return list(found)


async def test_a_new_account_has_a_wallet_and_a_zero_balance(container: Any) -> None:
    admin = await person(container, Role.ADMIN)
    created = await container.identity.accounts.create(
        admin, "fresh@example.com", Role.USER, "Fresh", "long enough password 1"
    )
    user_id = created.user.id

    async def wallet_exists() -> bool:
        async with container.sessions() as session:
            found = await session.scalar(
                select(func.count()).where(TokenWalletRow.user_id == user_id)
            )
            return bool(found)

    await eventually(wallet_exists, what="the wallet opened on UserSignedUp")
    balance = await container.tokens.wallet.accounts.balance(user_id)
    assert (balance.mentor.total, balance.resume.total) == (0, 0)
    assert await container.tokens.wallet.accounts.open_wallet(user_id) is False  # idempotent


async def test_an_account_older_than_the_event_gets_its_wallet_on_first_use(
    container: Any,
) -> None:
    user = await person(container)
    assert await total(container, user) == 0
    assert await credit(container, user, 3)
    assert await total(container, user) == 3


async def test_a_key_moves_tokens_once(container: Any) -> None:
    user = await person(container)
    first = await credit(container, user, 5, key="purchase:one")
    assert first is not None and first[0].balance_before == 0 and first[0].balance_after == 5
    assert await credit(container, user, 5, key="purchase:one") is None
    assert await total(container, user) == 5
    assert len(await ledger_rows(container, user)) == 1


async def test_a_debit_the_balance_does_not_cover_is_refused_and_moves_nothing(
    container: Any,
) -> None:
    user = await person(container)
    await credit(container, user, 1)
    await hold(container, user, uuid7())
    with pytest.raises(InsufficientTokens):
        await hold(container, user, uuid7())
    assert await total(container, user) == 0
    assert len(await ledger_rows(container, user)) == 2


async def test_a_booking_spends_the_grant_first(container: Any) -> None:
    """Check 6: 2 grant tokens and 3 wallet tokens; a booking takes a grant token."""
    admin, user = await person(container, Role.ADMIN), await person(container)
    await credit(container, user, 3)
    await grant(container, admin, user, 2)
    assert await total(container, user) == 5
    rows = await hold(container, user, uuid7())
    assert [(r.source, r.tokens, r.balance_before, r.balance_after) for r in rows] == [
        (Source.GRANT, 1, 5, 4)
    ]
    balance = await container.tokens.wallet.accounts.balance(user.user_id)
    assert (balance.mentor.wallet, balance.mentor.promo, balance.mentor.total) == (3, 1, 4)
    assert balance.mentor.promo_expires_at is not None


async def test_a_spend_larger_than_the_grant_splits_into_two_rows(container: Any) -> None:
    admin, user = await person(container, Role.ADMIN), await person(container)
    await credit(container, user, 3)
    created = await grant(container, admin, user, 2)
    result = await container.tokens.wallet.accounts.deduct(
        admin,
        ManualDebit(user_id=user.user_id, token_count=4, reason="no-show", idempotency_key="p1"),
    )
    assert [(r.source, r.tokens, r.balance_before, r.balance_after) for r in result.rows] == [
        (Source.GRANT, 2, 5, 3),
        (Source.WALLET, 2, 3, 1),
    ]
    async with container.uow() as uow:
        assert (await uow.token_grants.get(created.id)).status is GrantStatus.EXHAUSTED


async def test_refunding_a_slot_twice_writes_one_refund(container: Any) -> None:
    """Check 10, and the refund goes back to the bucket the booking took from."""
    admin, user = await person(container, Role.ADMIN), await person(container)
    await credit(container, user, 1)
    await grant(container, admin, user, 2)
    slot = uuid7()
    await hold(container, user, slot)
    async with container.uow() as uow:
        assert await container.tokens.wallet.purse.held_for_slot(uow, slot) == 1
    first = await refund(container, user, slot)
    assert first is not None and [(r.source, r.tokens) for r in first] == [(Source.GRANT, 1)]
    assert await refund(container, user, slot) is None
    refunds = [r for r in await ledger_rows(container, user) if r.usage_type == "refund"]
    assert len(refunds) == 1
    assert await total(container, user) == 3
    async with container.uow() as uow:
        assert await container.tokens.wallet.purse.held_for_slot(uow, slot) == 0
    assert await refund(container, user, uuid7()) is None, "nothing held, nothing refunded"


async def test_an_exhausted_grant_is_not_revived_by_a_refund(container: Any) -> None:
    admin, user = await person(container, Role.ADMIN), await person(container)
    created = await grant(container, admin, user, 1)
    slot = uuid7()
    await hold(container, user, slot)
    rows = await refund(container, user, slot)
    assert [(r.source, r.direction) for r in rows] == [(Source.WALLET, Direction.CREDIT)]
    async with container.uow() as uow:
        assert (await uow.token_grants.get(created.id)).status is GrantStatus.EXHAUSTED
    assert (await container.tokens.wallet.accounts.check()).drifts == []


async def test_an_expired_grant_debits_what_remains(container: Any) -> None:
    """Check 7: a grant with 1 token left expires: one promo_expiry DEBIT of 1."""
    admin, user = await person(container, Role.ADMIN), await person(container)
    await credit(container, user, 2)
    created = await grant(container, admin, user, 2)
    await hold(container, user, uuid7())
    assert await total(container, user) == 3
    async with container.sessions() as session:
        await session.execute(
            update(PromotionalGrantRow)
            .where(PromotionalGrantRow.id == created.id)
            .values(expires_at=container.clock.now() - timedelta(minutes=1))
        )
        await session.commit()
    assert await container.tokens.wallet.accounts.expire_grants() == 1
    assert await container.tokens.wallet.accounts.expire_grants() == 0, "a CAS: once"
    expiry = [r for r in await ledger_rows(container, user) if r.usage_type == "promo_expiry"]
    assert [(r.direction, r.tokens_used, r.balance_before, r.balance_after) for r in expiry] == [
        ("DEBIT", 1, 3, 2)
    ]
    assert await total(container, user) == 2
    async with container.uow() as uow:
        assert (await uow.token_grants.get(created.id)).status is GrantStatus.EXPIRED
    assert (await container.tokens.wallet.accounts.check()).drifts == []


async def test_grants_one_active_per_kind_expiry_bounds_and_revocation(container: Any) -> None:
    admin, user = await person(container, Role.ADMIN), await person(container)
    created = await grant(container, admin, user, 2)
    with pytest.raises(Conflict, match="ACTIVE"):
        await grant(container, admin, user, 1)
    with pytest.raises(ValidationFailed):
        await grant(container, admin, user, 1, days=400)
    revoked = await container.tokens.wallet.accounts.revoke(admin, created.id)
    assert revoked.status is GrantStatus.REVOKED and revoked.tokens_remaining == 0
    assert await total(container, user) == 0
    with pytest.raises(Conflict):
        await container.tokens.wallet.accounts.revoke(admin, created.id)
    with pytest.raises(NotFound):
        await container.tokens.wallet.accounts.revoke(admin, uuid7())
    impersonating = Caller(
        user_id=admin.user_id,
        role=Role.ADMIN,
        platform=Platform.MY_ANALYTICS_SCHOOL,
        impersonated_by=uuid7(),
    )
    with pytest.raises(Forbidden):
        await grant(container, impersonating, user, 1)


async def test_adjustments_credit_and_debit_once_per_key(container: Any) -> None:
    admin, user = await person(container, Role.ADMIN), await person(container)
    plus = Adjustment(user_id=user.user_id, token_delta=4, reason="goodwill", idempotency_key="a1")
    assert (await container.tokens.wallet.accounts.adjust(admin, plus)).applied
    assert not (await container.tokens.wallet.accounts.adjust(admin, plus)).applied
    minus = Adjustment(user_id=user.user_id, token_delta=-5, reason="oops", idempotency_key="a2")
    with pytest.raises(InsufficientTokens):
        await container.tokens.wallet.accounts.adjust(admin, minus)
    minus = Adjustment(user_id=user.user_id, token_delta=-3, reason="oops", idempotency_key="a3")
    assert (await container.tokens.wallet.accounts.adjust(admin, minus)).applied
    assert await total(container, user) == 1
    with pytest.raises(NotFound):
        await container.tokens.wallet.accounts.adjust(
            admin, Adjustment(user_id=uuid7(), token_delta=1, reason="x", idempotency_key="a4")
        )
    page = await container.tokens.wallet.accounts.history(user.user_id, PageRequest(1, 1))
    assert page.total == 2 and page.items[0].direction is Direction.DEBIT


async def test_the_ledger_check_reports_drift_and_fixes_nothing(container: Any) -> None:
    """Check 17 (wallet side): zero drift after movements; a tampered wallet is reported."""
    admin, user = await person(container, Role.ADMIN), await person(container)
    await credit(container, user, 3)
    await grant(container, admin, user, 2)
    slot = uuid7()
    await hold(container, user, slot)
    await refund(container, user, slot)
    assert (await container.tokens.wallet.accounts.check()).drifts == []
    async with container.sessions() as session:
        await session.execute(
            update(TokenWalletRow).where(TokenWalletRow.user_id == user.user_id).values(token=9)
        )
        await session.commit()
    report = await container.tokens.wallet.accounts.check()
    assert [(d.user_id, d.bucket, d.stored, d.ledger) for d in report.drifts] == [
        (user.user_id, "WALLET", 9, 3)
    ]
    assert report.users_checked == 1
    assert (await container.tokens.wallet.accounts.check()).drifts == report.drifts


class FakeBatches:
    def __init__(self) -> None:
        self.leads: dict[uuid.UUID, uuid.UUID] = {}
        self.members: set[tuple[uuid.UUID, uuid.UUID]] = set()

    async def lead_of(self, batch_id: uuid.UUID) -> uuid.UUID | None:
        return self.leads.get(batch_id)

    async def is_member(self, student_id: uuid.UUID, batch_id: uuid.UUID) -> bool:
        return (student_id, batch_id) in self.members


@pytest.fixture
def governance(container: Any) -> FakeBatches:
    batches = FakeBatches()
    allotments = container.tokens.wallet.allotments
    allotments.batches, allotments.enabled = batches, True
    return batches


def ask(batch_id: uuid.UUID, tokens: int = 3) -> NewAllotmentRequest:
    return NewAllotmentRequest(
        batch_id=batch_id, tokens_requested=tokens, reason="preparing for interviews"
    )


async def test_an_approved_request_credits_its_tokens_once(
    container: Any, governance: FakeBatches
) -> None:
    """Check 8."""
    student = await person(container)
    lead = await person(container, Role.BATCH_LEAD)
    other = await person(container, Role.BATCH_LEAD)
    batch, other_batch = uuid7(), uuid7()
    governance.leads.update({batch: lead.user_id, other_batch: other.user_id})
    governance.members.add((student.user_id, batch))
    allotments = container.tokens.wallet.allotments
    request = await allotments.raise_request(student, ask(batch))
    assert request.batch_lead_id == lead.user_id
    with pytest.raises(Conflict):
        await allotments.raise_request(student, ask(batch))
    with pytest.raises(Forbidden):
        await allotments.approve(other, request.id)
    assert (await allotments.for_lead(other, None, PageRequest())).total == 0
    assert (await allotments.for_lead(lead, AllotmentStatus.PENDING, PageRequest())).total == 1
    approved = await allotments.approve(lead, request.id)
    assert approved.status is AllotmentStatus.APPROVED and approved.decided_by == lead.user_id
    with pytest.raises(Conflict):
        await allotments.approve(lead, request.id)
    with pytest.raises(Conflict):
        await allotments.reject(lead, request.id, Decision(note="late"))
    assert await total(container, student) == 3
    rows = await ledger_rows(container, student)
    assert [(r.usage_type, r.tokens_used) for r in rows] == [("allotment", 3)]


async def test_requests_are_withdrawn_rejected_capped_and_expired(
    container: Any, governance: FakeBatches
) -> None:
    """Check 9, the monthly cap, a note on rejection, the 14-day expiry."""
    student, lead = await person(container), await person(container, Role.BATCH_LEAD)
    admin = await person(container, Role.ADMIN)
    batch = uuid7()
    governance.leads[batch] = lead.user_id
    allotments = container.tokens.wallet.allotments
    with pytest.raises(Forbidden):
        await allotments.raise_request(student, ask(batch))
    governance.members.add((student.user_id, batch))
    first = await allotments.raise_request(student, ask(batch))
    stranger = await person(container)
    with pytest.raises(NotFound):
        await allotments.withdraw(stranger, first.id)
    assert (await allotments.withdraw(student, first.id)).status is AllotmentStatus.WITHDRAWN
    with pytest.raises(Conflict):
        await allotments.withdraw(student, first.id)
    second = await allotments.raise_request(student, ask(batch))
    with pytest.raises(ValidationFailed):
        await allotments.reject(lead, second.id, Decision())
    rejected = await allotments.reject(lead, second.id, Decision(note="not now"))
    assert rejected.decision_note == "not now"
    for _ in range(2):
        done = await allotments.raise_request(student, ask(batch, 5))
        await allotments.approve(admin, done.id)
    capped = await allotments.raise_request(student, ask(batch, 1))
    with pytest.raises(Conflict, match="at most 10"):
        await allotments.approve(lead, capped.id)
    assert (await allotments.mine(student, PageRequest())).total == 5
    async with container.sessions() as session:
        from mas.adapters.db.tokens.wallet_tables import AllotmentRequestRow

        await session.execute(
            update(AllotmentRequestRow)
            .where(AllotmentRequestRow.id == capped.id)
            .values(created_at=container.clock.now() - timedelta(days=15))
        )
        await session.commit()
    assert await allotments.expire() == 1
    async with container.uow() as uow:
        assert (await uow.token_allotments.get(capped.id)).status is AllotmentStatus.EXPIRED
    assert (await container.tokens.wallet.accounts.check()).drifts == []


async def test_governance_off_answers_not_found(container: Any) -> None:
    student = await person(container)
    allotments = container.tokens.wallet.allotments
    assert allotments.enabled is False
    with pytest.raises(NotFound):
        await allotments.raise_request(student, ask(uuid7()))
    with pytest.raises(NotFound):
        await allotments.mine(student, PageRequest())


async def test_without_an_lms_no_student_is_in_a_batch(container: Any) -> None:
    student = await person(container)
    allotments = container.tokens.wallet.allotments
    allotments.enabled = True
    with pytest.raises(Forbidden):
        await allotments.raise_request(student, ask(uuid7()))


async def test_the_crons_run_through_the_job_ledger(container: Any) -> None:
    from mas.core.platform.job_model import JobFilter, JobStatus

    admin, user = await person(container, Role.ADMIN), await person(container)
    created = await grant(container, admin, user, 2)
    async with container.sessions() as session:
        await session.execute(
            update(PromotionalGrantRow)
            .where(PromotionalGrantRow.id == created.id)
            .values(expires_at=container.clock.now() - timedelta(minutes=1))
        )
        await session.commit()
    names = [
        "tokens.expire_promotional_grants",
        "tokens.expire_allotment_requests",
        "tokens.ledger_check",
    ]
    for name in names:
        await container.jobs.enqueue(name)
    for name in names:
        runs = await container.jobs.page(JobFilter(task=name), PageRequest())
        assert [r.status for r in runs.items] == [JobStatus.SUCCEEDED], name
    assert await total(container, user) == 0
    async with container.uow() as uow:
        assert (await uow.token_grants.get(created.id)).status is GrantStatus.EXPIRED


async def test_a_grant_past_its_expiry_does_not_block_a_new_one(container: Any) -> None:
    admin, user = await person(container, Role.ADMIN), await person(container)
    old = await grant(container, admin, user, 2)
    async with container.sessions() as session:
        await session.execute(
            update(PromotionalGrantRow)
            .where(PromotionalGrantRow.id == old.id)
            .values(expires_at=container.clock.now() - timedelta(minutes=1))
        )
        await session.commit()
    assert await total(container, user) == 0
    await grant(container, admin, user, 1)
    assert await total(container, user) == 1
    async with container.uow() as uow:
        assert (await uow.token_grants.get(old.id)).status is GrantStatus.EXPIRED
    assert (await container.tokens.wallet.accounts.check()).drifts == []
