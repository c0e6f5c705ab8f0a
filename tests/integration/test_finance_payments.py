"""The payment mirror on SQLite and PostgreSQL (payments-finance.md §3 GlobalPayment, §4, §6
``finance.sync_global_payments``, §8, §9 checks 7 and 8): the sync pages the gateway as Razorpay
pages, twice over one window leaves the same rows, a stale payload never moves a status back,
refunds grow, an outage leaves the cursor, one run at a time, auto-matching by the purchase the
notes name, and a token purchase's verify, webhook or sync racing for one payment leave one row.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from sqlalchemy import func, select

from mas.adapters.db.finance.payments_tables import global_payments
from mas.adapters.fakes.payments import FakeGateway
from mas.adapters.fakes.platform import FakeClock
from mas.core.finance.payments.events import PaymentRefunded, PaymentsCaptured
from mas.core.finance.payments.mirror import PaymentSource, Reconciliation
from mas.core.finance.payments.sync import OVERLAP, SyncBusy, SyncWindow
from mas.core.identity.policy import Caller, Platform, Role
from mas.core.platform.ports.payments import GatewayPayment, GatewayUnavailable, PaymentStatus
from mas.core.tokens.purchases.model import PurchaseRequest, VerifyPaymentRequest
from tests.conftest import Database, make_settings, open_container
from tests.http.conftest import add_user

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=FakeClock().now().tzinfo)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


async def _open(database: Database, tmp_path: Path, clock: FakeClock, **settings: Any) -> Any:
    return await open_container(
        make_settings(database.url, tmp_path, **settings),
        database=database.joined,
        clock=clock,
    )


@pytest.fixture
async def c(database: Database, tmp_path: Path, clock: FakeClock) -> AsyncIterator[Any]:
    container = await _open(database, tmp_path, clock, payments_provider="fake")
    yield container
    await container.close()


def gateway_of(c: Any) -> FakeGateway:
    gateway = c.tokens.purchases.gateway
    assert isinstance(gateway, FakeGateway)
    return gateway


def payment(n: int, at: datetime, **changes: Any) -> GatewayPayment:
    fields: dict[str, Any] = {
        "id": f"pay_{n:014d}",
        "amount_paise": 35000,
        "currency": "INR",
        "status": PaymentStatus.CAPTURED,
        "order_id": f"order_{n:012d}",
        "method": "upi",
        "email": f"payer{n}@example.com",
        "created_at": at,
    }
    fields.update(changes)
    return GatewayPayment(**fields)


def seed(c: Any, payments: list[GatewayPayment]) -> None:
    gateway = gateway_of(c)
    for p in payments:
        gateway.payments[p.id] = p


async def rows(c: Any) -> dict[str, Any]:
    async with c.sessions() as session:
        found = await session.execute(select(global_payments))
        return {r.razorpay_payment_id: r for r in found}


async def events_of(c: Any, subject: str) -> list[dict[str, Any]]:
    from mas.adapters.db.platform.tables import OutboxEventRow

    async with c.sessions() as session:
        found = await session.execute(
            select(OutboxEventRow.payload)
            .where(OutboxEventRow.subject == subject)
            .order_by(OutboxEventRow.created_at)
        )
        return [dict(r[0]) for r in found]


def window(start: datetime, end: datetime) -> SyncWindow:
    return SyncWindow(from_ts=int(start.timestamp()), to_ts=int(end.timestamp()))


async def test_syncing_one_window_twice_leaves_the_same_rows(c: Any) -> None:
    start = NOW - timedelta(days=2)
    seed(c, [payment(n, start + timedelta(minutes=n)) for n in range(1, 251)])
    seed(c, [payment(999, NOW - timedelta(days=5))])  # outside the window
    first = await c.finance.payments.sync.run(window(start, NOW))
    assert (first.status, first.pages, first.mirrored.seen) == ("ok", 3, 250)
    assert (first.mirrored.written, first.mirrored.captured) == (250, 250)
    before = await rows(c)
    again = await c.finance.payments.sync.run(window(start, NOW))
    assert (again.mirrored.seen, again.mirrored.written, again.mirrored.captured) == (250, 0, 0)
    after = await rows(c)
    assert len(after) == 250 and "pay_00000000000999" not in after
    assert {k: (r.id, r.updated_at) for k, r in after.items()} == {
        k: (r.id, r.updated_at) for k, r in before.items()
    }
    captured = await events_of(c, PaymentsCaptured.subject)
    assert sorted(i for e in captured for i in e["payment_ids"]) == sorted(
        str(r.id) for r in after.values()
    )
    # Razorpay's pages: count ≤ 100 with skip, over the asked window.
    calls = gateway_of(c).calls
    assert calls.count("list_payments") == 6


async def test_a_stale_payload_never_moves_a_status_back(c: Any) -> None:
    mirror = c.finance.payments.mirror
    at = NOW - timedelta(hours=1)
    await mirror.mirror([payment(1, at, status=PaymentStatus.AUTHORIZED)])
    moved = await mirror.mirror([payment(1, at, status=PaymentStatus.CAPTURED, fee_paise=708)])
    stale = await mirror.mirror([payment(1, at, status=PaymentStatus.AUTHORIZED, fee_paise=1)])
    failed_late = await mirror.mirror([payment(1, at, status=PaymentStatus.FAILED)])
    assert (moved.written, moved.captured) == (1, 1)
    assert (stale.written, failed_late.written) == (0, 0)
    row = (await rows(c))["pay_00000000000001"]
    assert (row.gateway_status, row.fee_paise) == ("captured", 708)
    assert row.captured_at == at
    # A payment that failed before capture is mirrored as failed and stays so.
    await mirror.mirror([payment(2, at, status=PaymentStatus.CREATED)])
    await mirror.mirror([payment(2, at, status=PaymentStatus.FAILED)])
    back = await mirror.mirror([payment(2, at, status=PaymentStatus.CAPTURED)])
    assert back.written == 0
    assert (await rows(c))["pay_00000000000002"].gateway_status == "failed"


async def test_a_partial_refund_grows_and_a_full_one_refunds(c: Any) -> None:
    mirror = c.finance.payments.mirror
    at = NOW - timedelta(hours=1)
    await mirror.mirror([payment(1, at)])
    part = await mirror.mirror([payment(1, at, amount_refunded_paise=10000)])
    full = await mirror.mirror(
        [payment(1, at, status=PaymentStatus.REFUNDED, amount_refunded_paise=35000)]
    )
    stale = await mirror.mirror([payment(1, at, amount_refunded_paise=10000)])
    assert (part.refunds, full.refunds, stale.written) == (1, 1, 0)
    row = (await rows(c))["pay_00000000000001"]
    assert (row.gateway_status, row.amount_refunded_paise) == ("refunded", 35000)
    refunds = [
        msgspec.convert(e, PaymentRefunded) for e in await events_of(c, PaymentRefunded.subject)
    ]
    assert [(e.previously_refunded_paise, e.refunded_paise) for e in refunds] == [
        (0, 10000),
        (10000, 35000),
    ]
    assert all(e.payment_id == row.id for e in refunds)


async def test_an_outage_mid_window_leaves_the_cursor_and_the_next_run_covers_it(
    c: Any, clock: FakeClock
) -> None:
    sync = c.finance.payments.sync
    seed(c, [payment(n, NOW - timedelta(hours=3, seconds=n)) for n in range(1, 1151)])
    gateway = gateway_of(c)
    original = gateway.list_payments
    pages = 0

    async def flaky(from_ts: int, to_ts: int, skip: int, count: int) -> list[GatewayPayment]:
        nonlocal pages
        pages += 1
        if pages == 12:  # a batch of ten pages is mirrored; the next one fails
            raise GatewayUnavailable("Razorpay answered 503")
        return await original(from_ts, to_ts, skip, count)

    gateway.list_payments = flaky  # type: ignore[method-assign]
    with pytest.raises(GatewayUnavailable):
        await sync.run(SyncWindow())
    state = await sync.state()
    assert (state.last_synced_to, state.running, state.last_status) == (None, False, "failed")
    assert len(await rows(c)) == 1000  # the first batch stays mirrored
    clock.advance(seconds=600)
    done = await sync.run(SyncWindow())
    assert (done.status, done.mirrored.seen, done.window_from) == (
        "ok",
        1150,
        NOW + timedelta(seconds=600) - OVERLAP,
    )
    state = await sync.state()
    assert (state.last_synced_to, state.last_status) == (NOW + timedelta(seconds=600), "ok")
    assert len(await rows(c)) == 1150
    # The next cron window starts a day before the cursor.
    clock.advance(seconds=1800)
    nxt = await sync.run(SyncWindow())
    assert nxt.window_from == NOW + timedelta(seconds=600) - OVERLAP


async def test_one_run_at_a_time(c: Any) -> None:
    async with c.uow() as uow:
        assert await uow.global_payment_sync.acquire("someone-else", NOW, 1800.0)
        await uow.commit()
    sync = c.finance.payments.sync
    assert (await sync.state()).running
    assert (await sync.run(SyncWindow())).status == "busy"
    with pytest.raises(SyncBusy):
        await sync.run(window(NOW - timedelta(days=1), NOW))
    # A holder whose lease lapsed is taken over.
    async with c.uow() as uow:
        assert await uow.global_payment_sync.acquire(
            "someone-else", NOW - timedelta(hours=2), 1800.0
        )
        await uow.commit()
    assert (await sync.run(SyncWindow())).status == "ok"


async def test_without_keys_the_job_reports_pending_config(
    database: Database, tmp_path: Path, clock: FakeClock
) -> None:
    container = await _open(database, tmp_path, clock)
    try:
        report = await container.finance.payments.sync.run(SyncWindow())
        state = await container.finance.payments.sync.state()
    finally:
        await container.close()
    assert (report.status, state.last_status, state.last_synced_to) == (
        "pending_config",
        "pending_config",
        None,
    )


async def buyer(c: Any) -> Caller:
    user = await add_user(c, Role.USER)
    return Caller(user_id=user.id, role=Role.USER, platform=Platform.MR_MENTOR)


async def test_a_token_purchase_is_matched_by_its_notes_and_a_wrong_amount_is_flagged(
    c: Any,
) -> None:
    who = await buyer(c)
    gateway = gateway_of(c)
    good = await c.tokens.purchases.purchases.buy(who, PurchaseRequest(pack_code="T1"))
    odd = await c.tokens.purchases.purchases.buy(who, PurchaseRequest(pack_code="T2"))
    good_id, _ = gateway.pay(good.order_id)
    odd_id, _ = gateway.pay(odd.order_id)
    at = NOW - timedelta(minutes=30)
    for pid in (good_id, odd_id):
        gateway.payments[pid] = msgspec.structs.replace(gateway.payments[pid], created_at=at)
    gateway.payments[odd_id] = msgspec.structs.replace(gateway.payments[odd_id], amount_paise=100)
    # The good one was mirrored before its capture: its row takes the verdict while UNMATCHED.
    early = msgspec.structs.replace(gateway.payments[good_id], status=PaymentStatus.AUTHORIZED)
    assert (await c.finance.payments.mirror.mirror([early])).matched == 0
    report = await c.finance.payments.sync.run(window(NOW - timedelta(hours=1), NOW))
    assert report.mirrored.matched == 1
    found = await rows(c)
    matched, flagged = found[good_id], found[odd_id]
    assert (matched.reconciliation_status, matched.matched_entity_type) == (
        "MATCHED",
        "TOKEN_PURCHASE",
    )
    assert (matched.matched_entity_id, matched.user_id) == (good.purchase_id, who.user_id)
    assert matched.source == PaymentSource.TOKEN_PURCHASE.value
    assert (flagged.reconciliation_status, flagged.match_flag) == ("UNMATCHED", "amount_mismatch")
    assert flagged.matched_entity_id is None


async def test_verify_and_webhook_mirror_the_payment_once(c: Any) -> None:
    """§9 check 8's mirror side: whichever path sees the payment, one row, matched."""
    who = await buyer(c)
    gateway = gateway_of(c)
    checkout = await c.tokens.purchases.purchases.buy(who, PurchaseRequest(pack_code="T1"))
    payment_id, signature = gateway.pay(checkout.order_id)
    await c.tokens.purchases.purchases.verify(
        who,
        VerifyPaymentRequest(
            razorpay_order_id=checkout.order_id,
            razorpay_payment_id=payment_id,
            razorpay_signature=signature,
        ),
    )
    headers, body = gateway.webhook("payment.captured", checkout.order_id, payment_id)
    await c.tokens.purchases.webhooks.receive(headers, body)
    found = await rows(c)
    assert list(found) == [payment_id]
    assert found[payment_id].reconciliation_status == Reconciliation.MATCHED.value
    assert "fetch_payment" in gateway.calls  # the verify knew the id only


@pytest.mark.committing  # concurrent transactions
async def test_webhook_verify_and_sync_racing_leave_one_row(c: Any) -> None:
    at = NOW - timedelta(minutes=5)
    racers = [payment(n, at) for n in range(1, 9)]
    seed(c, racers)
    mirror = c.finance.payments.mirror
    authorized = [msgspec.structs.replace(p, status=PaymentStatus.AUTHORIZED) for p in racers]
    await mirror.mirror(authorized[1::3])  # some rows exist before the race, others are new
    await asyncio.gather(
        c.finance.payments.sync.run(window(NOW - timedelta(hours=1), NOW)),
        *(mirror.mirror([p]) for p in racers),
        *(mirror.mirror([p]) for p in reversed(racers)),
        mirror.mirror(authorized),
        mirror.mirror(list(reversed(racers))),
    )
    async with c.sessions() as session:
        total = (await session.execute(select(func.count()).select_from(global_payments))).scalar()
    found = await rows(c)
    assert total == 8 and {r.gateway_status for r in found.values()} == {"captured"}
    captured = await events_of(c, PaymentsCaptured.subject)
    ids = [i for e in captured for i in e["payment_ids"]]
    assert sorted(set(ids)) == sorted(str(r.id) for r in found.values())


async def test_the_row_count_of_a_sync_is_what_the_gateway_holds(c: Any) -> None:
    seed(c, [payment(n, NOW - timedelta(minutes=n)) for n in range(1, 101)])  # exactly one page
    report = await c.finance.payments.sync.run(window(NOW - timedelta(hours=3), NOW))
    assert (report.pages, report.mirrored.seen) == (2, 100)  # a full page asks for the next
    async with c.uow() as uow:
        assert await uow.global_payments.count() == 100


async def test_a_failed_write_fails_the_run_and_releases_the_lock(c: Any) -> None:
    seed(c, [payment(n, NOW - timedelta(hours=2, seconds=n)) for n in range(1, 1501)])
    mirror = c.finance.payments.mirror
    original = mirror.mirror
    calls = 0

    async def second_batch_fails(payments: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("the database went away")
        return await original(payments)

    mirror.mirror = second_batch_fails
    with pytest.raises(RuntimeError):
        await c.finance.payments.sync.run(SyncWindow())
    state = await c.finance.payments.sync.state()
    assert (state.running, state.last_status, state.last_synced_to) == (False, "failed", None)
    assert "the database went away" in (state.last_error or "")
    assert len(await rows(c)) == 1000
