"""Discount requests and the pipeline cost ledger on SQLite and PostgreSQL
(payments-finance.md §4 DiscountRequest, §8, §9 checks 11, 12, 15)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mas.adapters.db.crm.tables import SalesTeamMemberRow
from mas.adapters.fakes.platform import FakeClock
from mas.core.finance.sales import SalesPorts, SalesServices, build_sales
from mas.core.finance.sales.model import (
    Approval,
    CostProvider,
    CostStage,
    DecisionNote,
    DiscountStatus,
    NewDiscountRequest,
    PipelineCostInput,
    UnitType,
)
from mas.core.identity.policy import Caller, Role
from mas.core.platform.errors import (
    Conflict,
    Forbidden,
    InvalidState,
    NotFound,
    ValidationFailed,
)
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import PageRequest
from tests.conftest import Database, make_settings, open_container
from tests.integration.test_tokens_wallet import person

FEE = 5_000_000  # ₹50,000


class Fees:
    def __init__(self) -> None:
        self.fees: dict[uuid.UUID, int] = {}

    async def fee_of(self, batch_id: uuid.UUID) -> int | None:
        return self.fees.get(batch_id)


class Owners:
    def __init__(self) -> None:
        self.owners: dict[uuid.UUID, uuid.UUID] = {}

    async def owner_of(self, job_id: uuid.UUID) -> uuid.UUID | None:
        return self.owners.get(job_id)


class Sales:
    def __init__(self, c: Any, clock: FakeClock) -> None:
        self.c, self.clock = c, clock
        self.fees, self.owners = Fees(), Owners()
        self.services: SalesServices = build_sales(
            SalesPorts(uow=c.uow, clock=clock, batches=self.fees, jobs=self.owners)
        )
        self.batch = uuid7()
        self.fees.fees[self.batch] = FEE


@pytest.fixture
def sales(container: Any) -> Sales:
    return Sales(container, FakeClock(datetime(2026, 12, 5, 10, tzinfo=UTC)))


def ask(batch: uuid.UUID, price: int = 4_000_000, email: str = "Asha@Example.com") -> Any:
    return NewDiscountRequest(
        student_email=email,
        batch_id=batch,
        requested_price_paise=price,
        reason="scholarship for a strong candidate",
    )


async def test_an_approval_sets_the_price_until_it_lapses(sales: Sales) -> None:
    """Check 11."""
    seller = await person(sales.c, Role.SALES)
    admin = await person(sales.c, Role.ADMIN)
    discounts = sales.services.discounts
    filed = await discounts.create(seller, ask(sales.batch))
    assert (filed.status, filed.batch_fee_paise) == (DiscountStatus.PENDING, FEE)
    assert filed.student_email == "asha@example.com"
    approved = await discounts.approve(
        admin, filed.id, Approval(approved_price_paise=4_200_000, note="ok")
    )
    assert approved.status is DiscountStatus.APPROVED
    assert approved.valid_until == sales.clock.now() + timedelta(days=14)
    price = await discounts.effective_price(sales.batch, "asha@example.com")
    assert (price.price_paise, price.discount_request_id) == (4_200_000, filed.id)
    sales.clock.advance(days=14, seconds=1)
    lapsed = await discounts.effective_price(sales.batch, "asha@example.com")
    assert (lapsed.price_paise, lapsed.discount_request_id) == (FEE, None)
    assert await discounts.expire() == 1
    page = await discounts.queue(DiscountStatus.EXPIRED, PageRequest())
    assert [r.id for r in page.items] == [filed.id]
    again = await discounts.create(seller, ask(sales.batch))  # no longer active: a new one
    assert again.status is DiscountStatus.PENDING


async def test_no_self_approval_and_one_active_request(sales: Sales) -> None:
    """Check 12 (a SALES user reaching the admin route is the guard's 403, in the route grid)."""
    seller = await person(sales.c, Role.SALES)
    admin = await person(sales.c, Role.ADMIN)
    discounts = sales.services.discounts
    own = await discounts.create(admin, ask(sales.batch, email="own@example.com"))
    with pytest.raises(Forbidden) as refused:
        await discounts.approve(admin, own.id, Approval())
    assert refused.value.code == "self_approval"
    first = await discounts.create(seller, ask(sales.batch))
    with pytest.raises(Conflict) as twice:
        await discounts.create(seller, ask(sales.batch, price=3_000_000))
    assert twice.value.code == "discount_request_active"
    await discounts.reject(admin, first.id, DecisionNote(note="not this term"))
    with pytest.raises(InvalidState):
        await discounts.approve(admin, first.id, Approval())
    assert (await discounts.create(seller, ask(sales.batch))).status is DiscountStatus.PENDING


async def test_prices_batches_and_moves_are_checked(sales: Sales) -> None:
    seller = await person(sales.c, Role.SALES)
    other = await person(sales.c, Role.SALES)
    admin = await person(sales.c, Role.ADMIN)
    discounts = sales.services.discounts
    for price in (FEE, FEE + 1):
        with pytest.raises(ValidationFailed) as bad:
            await discounts.create(seller, ask(sales.batch, price=price))
        assert bad.value.code == "price_out_of_range"
    with pytest.raises(NotFound):
        await discounts.create(seller, ask(uuid7()))
    with pytest.raises(ValidationFailed):
        await discounts.create(seller, ask(sales.batch, email="a\u202e@evil.com"))
    filed = await discounts.create(seller, ask(sales.batch))
    for wrong in (3_999_999, FEE):
        with pytest.raises(ValidationFailed) as outside:
            await discounts.approve(admin, filed.id, Approval(approved_price_paise=wrong))
        assert outside.value.code == "approved_price_out_of_range"
    with pytest.raises(Forbidden):
        await discounts.cancel(other, filed.id)
    with pytest.raises(InvalidState):
        await discounts.revoke(admin, filed.id, DecisionNote(note="x"))
    approved = await discounts.approve(admin, filed.id, Approval())
    assert approved.approved_price_paise == 4_000_000
    with pytest.raises(InvalidState):
        await discounts.cancel(seller, filed.id)
    revoked = await discounts.revoke(admin, filed.id, DecisionNote(note="budget cut"))
    assert (revoked.status, revoked.decision_note) == (DiscountStatus.CANCELLED, "budget cut")
    pending = await discounts.create(seller, ask(sales.batch))
    assert (await discounts.cancel(seller, pending.id)).status is DiscountStatus.CANCELLED


async def test_consuming_an_approval_once(sales: Sales) -> None:
    seller = await person(sales.c, Role.SALES)
    admin = await person(sales.c, Role.ADMIN)
    discounts = sales.services.discounts
    filed = await discounts.create(seller, ask(sales.batch))
    await discounts.approve(admin, filed.id, Approval())
    payment = uuid7()
    async with sales.c.uow() as uow:
        assert await discounts.consume(uow, "asha@example.com", sales.batch, payment) == 4_000_000
        assert await discounts.consume(uow, "asha@example.com", sales.batch, payment) is None
        await uow.commit()
    page = await discounts.queue(DiscountStatus.CONSUMED, PageRequest())
    assert page.items[0].consumed_payment_id == payment


async def test_a_head_sees_the_team(sales: Sales) -> None:
    head = await person(sales.c, Role.SALES_HEAD)
    member = await person(sales.c, Role.SALES)
    stranger = await person(sales.c, Role.SALES)
    async with sales.c.uow() as uow:
        uow.session.add(  # type: ignore[attr-defined]
            SalesTeamMemberRow(
                sales_head_id=head.user_id,
                user_id=member.user_id,
                member_role="MEMBER",
                joined_at=sales.clock.now(),
            )
        )
        await uow.commit()
    discounts = sales.services.discounts
    mine = await discounts.create(member, ask(sales.batch, email="m@example.com"))
    await discounts.create(stranger, ask(sales.batch, email="s@example.com"))
    seen = await discounts.mine(head, None, PageRequest())
    assert [r.id for r in seen.items] == [mine.id]
    assert (await discounts.mine(stranger, None, PageRequest())).total == 1


def cost(job: uuid.UUID, key: str, millipaise: int, **over: Any) -> PipelineCostInput:
    values: dict[str, Any] = {
        "job_id": job,
        "stage": CostStage.SCREENING,
        "provider": CostProvider.LLM_GATEWAY,
        "units": 1200,
        "unit_type": UnitType.TOKENS,
        "cost_millipaise": millipaise,
        "idempotency_key": key,
        "occurred_at": datetime(2026, 12, 1, 9, tzinfo=UTC),
    }
    values.update(over)
    return PipelineCostInput(**values)


async def test_the_cost_ledger_counts_each_call_once(sales: Sales) -> None:
    """Check 15."""
    hr = await person(sales.c, Role.EXTERNAL_HR)
    other_hr = await person(sales.c, Role.EXTERNAL_HR)
    admin = await person(sales.c, Role.ADMIN)
    job = uuid7()
    sales.owners.owners[job] = hr.user_id
    costs = sales.services.costs
    first = await costs.record(cost(job, "call-1", 1234))
    replay = await costs.record(cost(job, "call-1", 9999))
    assert (first.created, replay.created, replay.entry.cost_millipaise) == (True, False, 1234)
    await costs.record(
        cost(job, "call-2", 50_000, stage=CostStage.AI_CALL, provider=CostProvider.EXOTEL)
    )
    await costs.record(cost(job, "call-3", 766, original_amount_micros=9, original_currency="USD"))
    seen = await costs.of_job(hr, job)
    assert len(seen.entries) == 3
    assert (
        seen.total_millipaise == 1234 + 50_000 + 766 == sum(e.cost_millipaise for e in seen.entries)
    )
    assert {t.key: t.cost_millipaise for t in seen.by_provider} == {
        "EXOTEL": 50_000,
        "LLM_GATEWAY": 2000,
    }
    with pytest.raises(Forbidden):
        await costs.of_job(other_hr, job)
    with pytest.raises(NotFound):
        await costs.of_job(hr, uuid7())
    assert (await costs.of_job(admin, job)).total_millipaise == 52_000
    summary = await costs.summary(date(2026, 12, 1), date(2026, 12, 1), "job")
    assert [(g.key, g.entries) for g in summary.groups] == [(str(job), 3)]
    assert (await costs.summary(date(2026, 12, 2), date(2026, 12, 31), "provider")).groups == []
    with pytest.raises(ValidationFailed):
        await costs.summary(date(2026, 1, 1), date(2027, 1, 3), "provider")
    with pytest.raises(ValidationFailed):
        await costs.record(cost(job, "call-4", 1, original_currency="USD"))


@pytest.fixture
async def wide(database: Database, tmp_path: Path) -> AsyncIterator[Any]:
    if not database.url.startswith("postgresql"):
        pytest.skip("concurrent writers: PostgreSQL (SQLite has one writer)")
    c = await open_container(make_settings(database.url, tmp_path, db_pool_max=20))
    yield c
    await c.close()


@pytest.mark.committing
async def test_two_salespeople_racing_file_one_request(wide: Any) -> None:
    sales = Sales(wide, FakeClock(datetime(2026, 12, 5, 10, tzinfo=UTC)))
    racers: list[Caller] = [await person(wide, Role.SALES) for _ in range(8)]
    start = asyncio.Event()

    async def file(seller: Caller) -> str:
        await start.wait()
        try:
            await sales.services.discounts.create(seller, ask(sales.batch))
        except Conflict as refused:
            return refused.code
        return "created"

    tasks = [asyncio.create_task(file(s)) for s in racers]
    start.set()
    outcomes = await asyncio.gather(*tasks)
    assert sorted(outcomes) == ["created"] + ["discount_request_active"] * 7
    recorded = [
        asyncio.create_task(sales.services.costs.record(cost(uuid7(), "same-call", 5)))
        for _ in range(8)
    ]
    assert sum(r.created for r in await asyncio.gather(*recorded)) == 1
