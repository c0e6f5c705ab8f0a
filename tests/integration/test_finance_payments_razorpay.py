"""The sync through the real Razorpay adapter against the fake Razorpay server
(``tests/razorpay_fake.py``): pages of ``count`` ≤ 100 with ``skip`` over ``from``/``to``,
newest first, as Razorpay answers; a 5xx mid-window fails the run and keeps the cursor."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from mas.adapters.fakes.platform import FakeClock
from mas.adapters.payments.razorpay import RazorpayGateway
from mas.core.finance.payments.model import PaymentFilter
from mas.core.finance.payments.sync import SyncWindow
from mas.core.platform.paging import PageRequest
from mas.core.platform.ports.payments import GatewayUnavailable
from mas.modules.tokens.purchases import install
from tests.conftest import Database, make_settings, open_container
from tests.razorpay_fake import KEY_ID, KEY_SECRET, FakeRazorpay, payment_document, server_error

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


@pytest.fixture
async def setup(database: Database, tmp_path: Path) -> AsyncIterator[tuple[Any, FakeRazorpay]]:
    c = await open_container(
        make_settings(database.url, tmp_path), database=database.joined, clock=FakeClock(NOW)
    )
    fake = FakeRazorpay()
    client = RazorpayGateway(
        key_id=KEY_ID,
        key_secret=KEY_SECRET,
        base_url="http://razorpay.test",
        http=httpx.AsyncClient(transport=httpx.ASGITransport(app=fake)),
    )
    install(c, client)
    yield c, fake
    await c.close()


def seed(fake: FakeRazorpay, n: int) -> None:
    start = int((NOW - timedelta(hours=20)).timestamp())
    for i in range(n):
        fake.add_payment(payment_document(f"pay_{i:014d}", start + i * 60, refunded=100 * (i % 2)))


async def test_the_sync_pages_razorpay_as_it_pages(setup: tuple[Any, FakeRazorpay]) -> None:
    c, fake = setup
    seed(fake, 230)
    report = await c.finance.payments.sync.run(SyncWindow())
    assert (report.status, report.pages, report.mirrored.seen) == ("ok", 3, 230)
    lists = [r.query for r in fake.requests if r.path == "/v1/payments"]
    assert [(q["skip"], q["count"]) for q in lists] == [
        ("0", "100"),
        ("100", "100"),
        ("200", "100"),
    ]
    assert {q["to"] for q in lists} == {str(int(NOW.timestamp()))}
    assert {q["from"] for q in lists} == {str(int((NOW - timedelta(hours=24)).timestamp()))}
    async with c.uow() as uow:
        assert await uow.global_payments.count() == 230
        flt = PaymentFilter(email="PAY_00000000000001@example.com")
        odd = (await uow.global_payments.page(flt, PageRequest())).items
    assert [(p.amount_refunded_paise, p.fee_paise, p.fee_tax_paise) for p in odd] == [
        (100, 826, 126)
    ]


async def test_a_razorpay_outage_keeps_the_cursor(setup: tuple[Any, FakeRazorpay]) -> None:
    c, fake = setup
    seed(fake, 150)
    original = fake._handle
    calls = 0

    def second_page_fails(request: Any) -> Any:
        nonlocal calls
        calls += 1
        return server_error(503) if calls == 2 else original(request)

    fake._handle = second_page_fails  # type: ignore[method-assign]
    with pytest.raises(GatewayUnavailable):
        await c.finance.payments.sync.run(SyncWindow())
    assert (await c.finance.payments.sync.state()).last_synced_to is None
    fake._handle = original  # type: ignore[method-assign]
    assert (await c.finance.payments.sync.run(SyncWindow())).mirrored.seen == 150
    assert (await c.finance.payments.sync.state()).last_synced_to == NOW
