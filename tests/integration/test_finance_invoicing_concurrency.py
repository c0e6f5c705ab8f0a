"""Invoice numbering under real concurrent transactions on PostgreSQL (payments-finance.md §3
InvoiceSequence, §8 "issue racing issue"): 16 issuers at once, each in its own transaction on
its own connection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from mas.adapters.db.finance.invoicing_tables import gst_invoices
from mas.adapters.fakes.platform import FakeClock
from mas.core.finance.invoicing.model import InvoiceStatus
from mas.core.identity.policy import Caller, Platform, Role
from mas.core.platform.errors import Conflict
from mas.core.platform.ids import uuid7
from tests.conftest import Database, make_settings, open_container
from tests.finance_invoicing_support import mirror, payment

pytestmark = pytest.mark.committing  # concurrent transactions, real commits

ISSUERS = 16


@pytest.fixture
async def wide(database: Database, tmp_path: Path) -> AsyncIterator[Any]:
    if not database.url.startswith("postgresql"):
        pytest.skip("row locks between transactions: PostgreSQL (SQLite has one writer)")
    c = await open_container(
        make_settings(
            database.url, tmp_path, db_pool_max=ISSUERS + 4, supplier_gstin="29AAGCB7383J1Z4"
        ),
        clock=FakeClock(datetime(2025, 10, 2, tzinfo=UTC)),
    )
    async with c.uow() as uow:  # the emptied test database gets the masters' seed back
        await uow.gst_masters.rates()
        await uow.gst_masters.states()
        await uow.commit()
    yield c
    await c.close()


def clerk() -> Caller:
    return Caller(user_id=uuid7(), role=Role.FINANCE, platform=Platform.MY_ANALYTICS_SCHOOL)


async def drafts(c: Any, count: int) -> list[Any]:
    paid = await mirror(c, *(payment() for _ in range(count)))
    return [await c.finance.invoicing.desk.draft(clerk(), p.id) for p in paid]


async def test_sixteen_issuers_take_gapless_unique_numbers(wide: Any) -> None:
    made = await drafts(wide, 64)
    queue: asyncio.Queue[Any] = asyncio.Queue()
    for draft in made:
        queue.put_nowait(draft)
    start = asyncio.Event()

    async def issuer() -> list[str]:
        await start.wait()
        numbers = []
        while not queue.empty():
            draft = queue.get_nowait()
            issued = await wide.finance.invoicing.desk.issue(clerk(), draft.id)
            numbers.append(issued.invoice_number)
        return numbers

    racers = [asyncio.create_task(issuer()) for _ in range(ISSUERS)]
    start.set()
    taken = [n for batch in await asyncio.gather(*racers) for n in batch]
    expected = [f"MAS/25-26/{n:06d}" for n in range(1, 65)]
    assert sorted(taken) == expected  # no gap, no duplicate
    async with wide.sessions() as session:
        stored = (
            await session.scalars(
                select(gst_invoices.c.invoice_number).where(gst_invoices.c.status == "ISSUED")
            )
        ).all()
    assert sorted(stored) == expected
    assert (await wide.finance.audit.log.check()).intact


async def test_sixteen_issuers_of_one_draft_give_one_number(wide: Any) -> None:
    [first, second] = await drafts(wide, 2)
    start = asyncio.Event()

    async def issue() -> str | None:
        await start.wait()
        try:
            return (await wide.finance.invoicing.desk.issue(clerk(), first.id)).invoice_number
        except Conflict:
            return None

    racers = [asyncio.create_task(issue()) for _ in range(ISSUERS)]
    start.set()
    outcomes = await asyncio.gather(*racers)
    assert [o for o in outcomes if o is not None] == ["MAS/25-26/000001"]
    # The losers' rolled-back counter steps gave their numbers back: the next one is 2.
    later = await wide.finance.invoicing.desk.issue(clerk(), second.id)
    assert later.invoice_number == "MAS/25-26/000002"
    assert (await wide.finance.invoicing.desk.get(first.id)).status is InvoiceStatus.ISSUED
