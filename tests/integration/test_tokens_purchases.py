"""Token purchases on SQLite and PostgreSQL: buy, verify, cancel, the webhook, the reconcile job,
and the race of a checkout verify with a webhook for one purchase (tokens-earnings.md §9, 2–5)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from sqlalchemy import func, select

from mas.adapters.db.tokens.purchases_tables import PaymentWebhookEventRow, TokenPurchaseRow
from mas.adapters.fakes.payments import FakeGateway, signed_headers
from mas.adapters.fakes.platform import FakeClock
from mas.core.identity.policy import Caller, Platform, Role
from mas.core.platform.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotConfigured,
    NotFound,
    Unauthorized,
    ValidationFailed,
)
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import PageRequest
from mas.core.platform.ports.payments import GatewayRejected, GatewayUnavailable, PaymentStatus
from mas.core.tokens.purchases.model import (
    PurchaseRequest,
    PurchaseStatus,
    TokenPurchase,
    VerifyPaymentRequest,
)
from mas.core.tokens.wallet.purse import Direction, UsageType
from mas.modules.tokens.purchases import install
from tests.conftest import Database, make_settings, open_container
from tests.http.conftest import add_user

START = FakeClock().now()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
async def c(database: Database, tmp_path: Path, clock: FakeClock) -> AsyncIterator[Any]:
    container = await open_container(
        make_settings(database.url, tmp_path, payments_provider="fake"),
        database=database.joined,
        clock=clock,
    )
    yield container
    await container.close()


def gateway_of(c: Any) -> FakeGateway:
    gateway = c.tokens.purchases.gateway
    assert isinstance(gateway, FakeGateway)
    return gateway


async def buyer(c: Any, **changes: Any) -> Caller:
    user = await add_user(c, Role.USER)
    return Caller(user_id=user.id, role=Role.USER, platform=Platform.MR_MENTOR, **changes)


async def balance(c: Any, who: Caller) -> int:
    total: int = (await c.tokens.wallet.accounts.balance(who.user_id)).mentor.total
    return total


async def purchase_rows(c: Any, who: Caller) -> list[Any]:
    history = await c.tokens.wallet.accounts.history(who.user_id, PageRequest(1, 100))
    return [m for m in history.items if m.usage_type is UsageType.PURCHASE]


async def count(c: Any, column: Any, *where: Any) -> int:
    async with c.sessions() as session:
        return int((await session.execute(select(func.count(column)).where(*where))).scalar_one())


def verify_of(order_id: str, payment_id: str, signature: str) -> VerifyPaymentRequest:
    return VerifyPaymentRequest(
        razorpay_order_id=order_id, razorpay_payment_id=payment_id, razorpay_signature=signature
    )


async def test_a_pack_is_bought_at_the_catalogue_price_and_verified_once(c: Any) -> None:
    who = await buyer(c)
    service = c.tokens.purchases.purchases
    checkout = await service.buy(who, PurchaseRequest(pack_code="T5", amount_paise=100))
    assert (checkout.amount_paise, checkout.currency, checkout.token_quantity) == (175000, "INR", 5)
    assert checkout.key_id == "rzp_test_fake"
    order = gateway_of(c).orders[checkout.order_id]
    assert order.amount_paise == 175000 and order.receipt == f"tp_{str(checkout.purchase_id)[:36]}"
    assert order.notes == {
        "tokenPurchaseId": str(checkout.purchase_id),
        "userId": str(who.user_id),
        "tokenQuantity": "5",
    }
    [pending] = (await service.history(who, PageRequest())).items
    assert pending.status is PurchaseStatus.PENDING and pending.razorpay_order_id == order.id

    payment_id, signature = gateway_of(c).pay(checkout.order_id)
    done = await service.verify(who, verify_of(checkout.order_id, payment_id, signature))
    assert (done.status, done.razorpay_payment_id) == (PurchaseStatus.COMPLETED, payment_id)
    assert done.completed_at == START
    again = await service.verify(who, verify_of(checkout.order_id, payment_id, signature))
    assert again == done
    assert await balance(c, who) == 5
    [row] = await purchase_rows(c, who)
    assert (row.direction, row.tokens, row.balance_before, row.balance_after) == (
        Direction.CREDIT,
        5,
        0,
        5,
    )
    assert (row.key, row.reference_id) == (f"purchase:{checkout.purchase_id}", str(done.id))


async def test_a_wrong_signature_changes_nothing(c: Any) -> None:
    who = await buyer(c)
    service = c.tokens.purchases.purchases
    checkout = await service.buy(who, PurchaseRequest(pack_code="T2"))
    payment_id, signature = gateway_of(c).pay(checkout.order_id)
    forged = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    with pytest.raises(BadRequest) as caught:
        await service.verify(who, verify_of(checkout.order_id, payment_id, forged))
    assert caught.value.code == "bad_signature"
    [still] = (await service.history(who, PageRequest())).items
    assert still.status is PurchaseStatus.PENDING and still.razorpay_payment_id is None
    assert await balance(c, who) == 0 and await purchase_rows(c, who) == []


async def test_verify_checks_the_order_and_its_owner_first(c: Any) -> None:
    who, other = await buyer(c), await buyer(c)
    service = c.tokens.purchases.purchases
    checkout = await service.buy(who, PurchaseRequest(pack_code="T1"))
    payment_id, signature = gateway_of(c).pay(checkout.order_id)
    with pytest.raises(NotFound):
        await service.verify(who, verify_of("order_unknown", payment_id, signature))
    with pytest.raises(Forbidden) as caught:
        await service.verify(other, verify_of(checkout.order_id, payment_id, signature))
    assert caught.value.code == "not_purchase_owner"
    assert await balance(c, who) == 0


async def test_an_unknown_pack_and_a_fourth_pending_purchase_are_refused(c: Any) -> None:
    who = await buyer(c)
    service = c.tokens.purchases.purchases
    with pytest.raises(ValidationFailed) as unknown:
        await service.buy(who, PurchaseRequest(pack_code="T99"))
    assert unknown.value.code == "unknown_pack"
    for _ in range(3):
        await service.buy(who, PurchaseRequest(pack_code="T1"))
    with pytest.raises(Conflict) as caught:
        await service.buy(who, PurchaseRequest(pack_code="T1"))
    assert caught.value.code == "too_many_pending_purchases"
    first = (await service.history(who, PageRequest())).items[-1]
    await service.cancel(who, first.id)
    assert (await service.buy(who, PurchaseRequest(pack_code="T1"))).amount_paise == 35000


async def test_impersonation_cannot_buy(c: Any) -> None:
    who = await buyer(c, impersonated_by=uuid.uuid4())
    with pytest.raises(Forbidden) as caught:
        await c.tokens.purchases.purchases.buy(who, PurchaseRequest(pack_code="T1"))
    assert caught.value.code == "impersonation_refused"


async def test_a_gateway_outage_fails_the_purchase_with_its_reason(c: Any) -> None:
    who = await buyer(c)
    gateway_of(c).fail_next(1)
    with pytest.raises(GatewayUnavailable):
        await c.tokens.purchases.purchases.buy(who, PurchaseRequest(pack_code="T3"))
    [failed] = (await c.tokens.purchases.purchases.history(who, PageRequest())).items
    assert failed.status is PurchaseStatus.FAILED and failed.razorpay_order_id is None
    assert failed.failure_reason is not None and "not created" in failed.failure_reason
    assert await balance(c, who) == 0


async def test_no_provider_is_not_configured(c: Any) -> None:
    install(c, None)
    who = await buyer(c)
    with pytest.raises(NotConfigured) as caught:
        await c.tokens.purchases.purchases.buy(who, PurchaseRequest(pack_code="T1"))
    assert caught.value.code == "integration_not_configured"
    assert [p.code for p in c.tokens.purchases.purchases.packs()][:2] == ["T1", "T2"]
    assert await count(c, TokenPurchaseRow.id) == 0


async def test_cancel_then_a_captured_payment_still_becomes_tokens(c: Any) -> None:
    who = await buyer(c)
    service = c.tokens.purchases.purchases
    checkout = await service.buy(who, PurchaseRequest(pack_code="T2"))
    cancelled = await service.cancel(who, checkout.purchase_id)
    assert cancelled.status is PurchaseStatus.CANCELLED
    with pytest.raises(Conflict) as twice:
        await service.cancel(who, checkout.purchase_id)
    assert twice.value.code == "purchase_not_pending"
    with pytest.raises(NotFound):
        await service.cancel(await buyer(c), checkout.purchase_id)
    payment_id, signature = gateway_of(c).pay(checkout.order_id)
    done = await service.verify(who, verify_of(checkout.order_id, payment_id, signature))
    assert done.status is PurchaseStatus.COMPLETED
    assert await balance(c, who) == 2


async def test_a_cancelled_purchase_whose_payment_is_not_captured_stays_cancelled(c: Any) -> None:
    who = await buyer(c)
    service = c.tokens.purchases.purchases
    checkout = await service.buy(who, PurchaseRequest(pack_code="T2"))
    await service.cancel(who, checkout.purchase_id)
    payment_id, signature = gateway_of(c).pay(checkout.order_id, status=PaymentStatus.AUTHORIZED)
    with pytest.raises(Conflict) as caught:
        await service.verify(who, verify_of(checkout.order_id, payment_id, signature))
    assert caught.value.code == "purchase_not_pending"
    assert await balance(c, who) == 0


async def test_a_webhook_completes_the_purchase_once_and_is_stored_once(c: Any) -> None:
    who = await buyer(c)
    checkout = await c.tokens.purchases.purchases.buy(who, PurchaseRequest(pack_code="T4"))
    gateway = gateway_of(c)
    payment_id, signature = gateway.pay(checkout.order_id)
    headers, body = gateway.webhook("payment.captured", checkout.order_id)
    receipt = await c.tokens.purchases.webhooks.receive(headers, body)
    assert (receipt.duplicate, receipt.applied) == (False, True)
    again = await c.tokens.purchases.webhooks.receive(headers, body)
    assert (again.duplicate, again.applied) == (True, False)
    assert await count(c, PaymentWebhookEventRow.id) == 1
    # The browser's verify arrives after: the same purchase, nothing more.
    done = await c.tokens.purchases.purchases.verify(
        who, verify_of(checkout.order_id, payment_id, signature)
    )
    assert done.razorpay_payment_id == payment_id
    order_paid = gateway.webhook("order.paid", checkout.order_id)
    assert (await c.tokens.purchases.webhooks.receive(*order_paid)).applied is False
    assert await balance(c, who) == 4 and len(await purchase_rows(c, who)) == 1


async def test_a_forged_webhook_is_refused_and_stores_nothing(c: Any) -> None:
    who = await buyer(c)
    checkout = await c.tokens.purchases.purchases.buy(who, PurchaseRequest(pack_code="T1"))
    gateway = gateway_of(c)
    gateway.pay(checkout.order_id)
    _, body = gateway.webhook("payment.captured", checkout.order_id)
    for headers in ({}, signed_headers(body, "not-the-secret")):
        with pytest.raises(Unauthorized):
            await c.tokens.purchases.webhooks.receive(headers, body)
    assert await count(c, PaymentWebhookEventRow.id) == 0
    assert await balance(c, who) == 0


async def test_unknown_events_and_foreign_orders_are_stored_without_effect(c: Any) -> None:
    body = msgspec.json.encode(
        {"entity": "event", "event": "refund.processed", "payload": {}, "created_at": 1}
    )
    receipt = await c.tokens.purchases.webhooks.receive(signed_headers(body), body)
    assert (receipt.duplicate, receipt.applied) == (False, False)
    stored = await count(c, PaymentWebhookEventRow.id, PaymentWebhookEventRow.status == "IGNORED")
    assert stored == 1
    with pytest.raises(BadRequest):
        not_event = b'{"hello": "world"}'
        await c.tokens.purchases.webhooks.receive(signed_headers(not_event), not_event)


async def test_reconcile_completes_paid_and_fails_stale_unpaid(c: Any, clock: FakeClock) -> None:
    who = await buyer(c)
    service = c.tokens.purchases.purchases
    paid = await service.buy(who, PurchaseRequest(pack_code="T5"))
    unpaid = await service.buy(who, PurchaseRequest(pack_code="T1"))
    gateway_of(c).pay(paid.order_id)  # the browser never came back
    clock.advance(minutes=10)
    early = await c.tokens.purchases.reconciler.run()
    assert early.checked == 0
    clock.advance(minutes=10)
    report = await c.tokens.purchases.reconciler.run()
    assert (report.checked, report.completed, report.failed) == (2, 1, 0)
    assert await balance(c, who) == 5
    clock.advance(hours=24)
    late = await c.tokens.purchases.reconciler.run()
    assert (late.checked, late.completed, late.failed) == (1, 0, 1)
    statuses = {p.id: p for p in (await service.history(who, PageRequest())).items}
    assert statuses[paid.purchase_id].status is PurchaseStatus.COMPLETED
    assert statuses[unpaid.purchase_id].status is PurchaseStatus.FAILED
    assert statuses[unpaid.purchase_id].failure_reason == "unpaid after 24 hours"
    assert (await c.tokens.purchases.reconciler.run()).checked == 0
    assert len(await purchase_rows(c, who)) == 1


async def test_reconcile_fails_a_purchase_that_never_got_its_order(
    c: Any, clock: FakeClock
) -> None:
    who = await buyer(c)
    orphan = TokenPurchase(
        id=uuid7(),
        user_id=who.user_id,
        pack_code="T1",
        token_quantity=1,
        amount_paise=35000,
        currency="INR",
        status=PurchaseStatus.PENDING,
        created_at=clock.now(),
    )  # the process died between the pending row and the gateway's order
    async with c.uow() as uow:
        await uow.token_purchases.add(orphan)
        await uow.commit()
    clock.advance(minutes=16)
    report = await c.tokens.purchases.reconciler.run()
    assert (report.checked, report.failed) == (1, 1)
    [failed] = (await c.tokens.purchases.purchases.history(who, PageRequest())).items
    assert failed.failure_reason == "the gateway order was never created"


async def test_a_gateway_outage_stops_the_sweep_and_changes_nothing(
    c: Any, clock: FakeClock
) -> None:
    who = await buyer(c)
    checkout = await c.tokens.purchases.purchases.buy(who, PurchaseRequest(pack_code="T1"))
    gateway_of(c).pay(checkout.order_id)
    clock.advance(minutes=16)
    gateway_of(c).fail_next(1)
    with pytest.raises(GatewayUnavailable):
        await c.tokens.purchases.reconciler.run()
    [item] = (await c.tokens.purchases.purchases.history(who, PageRequest())).items
    assert item.status is PurchaseStatus.PENDING and await balance(c, who) == 0
    assert (await c.tokens.purchases.reconciler.run()).completed == 1


@pytest.mark.committing  # concurrent transactions
async def test_verify_and_webhook_racing_credit_once(c: Any, database: Database) -> None:
    if not database.url.startswith("postgresql"):
        pytest.skip("row locks: PostgreSQL (SQLite has one writer at a time)")
    for _ in range(5):
        who = await buyer(c)
        checkout = await c.tokens.purchases.purchases.buy(who, PurchaseRequest(pack_code="T3"))
        gateway = gateway_of(c)
        payment_id, signature = gateway.pay(checkout.order_id)
        headers, body = gateway.webhook("payment.captured", checkout.order_id)
        verify = verify_of(checkout.order_id, payment_id, signature)
        results = await asyncio.gather(
            c.tokens.purchases.purchases.verify(who, verify),
            c.tokens.purchases.webhooks.receive(headers, body),
            c.tokens.purchases.webhooks.receive(headers, body),
            c.tokens.purchases.purchases.verify(who, verify),
        )
        assert results[0].status is PurchaseStatus.COMPLETED
        assert sum(1 for r in results[1:3] if r.applied) <= 1
        assert await balance(c, who) == 3
        assert len(await purchase_rows(c, who)) == 1
        assert (
            await count(
                c,
                PaymentWebhookEventRow.id,
                PaymentWebhookEventRow.event_id == headers["X-Razorpay-Event-Id"],
            )
            == 1
        )


async def test_a_second_payment_of_a_completed_order_is_refused_and_logged(
    c: Any, caplog: pytest.LogCaptureFixture
) -> None:
    who = await buyer(c)
    service = c.tokens.purchases.purchases
    checkout = await service.buy(who, PurchaseRequest(pack_code="T1"))
    gateway = gateway_of(c)
    first = gateway.pay(checkout.order_id)
    await service.verify(who, verify_of(checkout.order_id, *first))
    second_id, second_signature = gateway.pay(checkout.order_id)
    with pytest.raises(Conflict) as caught:
        await service.verify(who, verify_of(checkout.order_id, second_id, second_signature))
    assert caught.value.code == "purchase_already_completed"
    headers, body = gateway.webhook("payment.captured", checkout.order_id, second_id)
    assert (await c.tokens.purchases.webhooks.receive(headers, body)).applied is False
    assert "tokens.purchase_second_payment" in caplog.text
    assert await balance(c, who) == 1


async def test_a_webhook_whose_amount_differs_completes_nothing(c: Any) -> None:
    who = await buyer(c)
    checkout = await c.tokens.purchases.purchases.buy(who, PurchaseRequest(pack_code="T2"))
    gateway = gateway_of(c)
    payment_id, _ = gateway.pay(checkout.order_id)
    gateway.payments[payment_id] = msgspec.structs.replace(
        gateway.payments[payment_id], amount_paise=100
    )
    headers, body = gateway.webhook("payment.captured", checkout.order_id)
    receipt = await c.tokens.purchases.webhooks.receive(headers, body)
    assert (receipt.duplicate, receipt.applied) == (False, False)
    assert await balance(c, who) == 0


async def test_a_failed_purchase_completes_when_a_webhook_proves_the_capture(c: Any) -> None:
    who = await buyer(c)
    service = c.tokens.purchases.purchases
    checkout = await service.buy(who, PurchaseRequest(pack_code="T2"))
    async with c.uow() as uow:  # as the reconcile job leaves an order unpaid for a day
        stored = await uow.token_purchases.get(checkout.purchase_id, lock=True)
        assert await uow.token_purchases.save(
            stored.moved(PurchaseStatus.FAILED), PurchaseStatus.PENDING
        )
        await uow.commit()
    gateway = gateway_of(c)
    gateway.pay(checkout.order_id)
    receipt = await c.tokens.purchases.webhooks.receive(
        *gateway.webhook("payment.captured", checkout.order_id)
    )
    assert receipt.applied is True
    [done] = (await service.history(who, PageRequest())).items
    assert done.status is PurchaseStatus.COMPLETED and await balance(c, who) == 2


async def test_reconcile_leaves_an_order_the_gateway_forgot_until_a_day_passes(
    c: Any, clock: FakeClock
) -> None:
    who = await buyer(c)
    checkout = await c.tokens.purchases.purchases.buy(who, PurchaseRequest(pack_code="T1"))
    gateway = gateway_of(c)
    del gateway.orders[checkout.order_id]
    clock.advance(minutes=20)
    assert (await c.tokens.purchases.reconciler.run()).failed == 0
    clock.advance(hours=24)
    assert (await c.tokens.purchases.reconciler.run()).failed == 1
    [failed] = (await c.tokens.purchases.purchases.history(who, PageRequest())).items
    assert failed.failure_reason == "the gateway does not know the order"


async def test_reconcile_does_not_credit_a_paid_order_without_a_captured_payment(
    c: Any, clock: FakeClock
) -> None:
    who = await buyer(c)
    checkout = await c.tokens.purchases.purchases.buy(who, PurchaseRequest(pack_code="T1"))
    gateway = gateway_of(c)
    payment_id, _ = gateway.pay(checkout.order_id)
    gateway.payments[payment_id] = msgspec.structs.replace(
        gateway.payments[payment_id], status=PaymentStatus.REFUNDED
    )
    clock.advance(minutes=20)
    report = await c.tokens.purchases.reconciler.run()
    assert (report.checked, report.completed, report.failed) == (1, 0, 0)
    assert await balance(c, who) == 0


class _PaymentsRefused(FakeGateway):
    async def fetch_order_payments(self, order_id: str) -> list[Any]:
        raise GatewayRejected("BAD_REQUEST_ERROR", "payments of this order are not available")


async def test_a_refused_payment_list_skips_the_purchase_not_the_sweep(
    c: Any, clock: FakeClock
) -> None:
    install(c, _PaymentsRefused())
    who = await buyer(c)
    service = c.tokens.purchases.purchases
    refused = await service.buy(who, PurchaseRequest(pack_code="T1"))
    unpaid = await service.buy(who, PurchaseRequest(pack_code="T2"))
    gateway_of(c).pay(refused.order_id)
    clock.advance(hours=25)
    report = await c.tokens.purchases.reconciler.run()
    assert (report.checked, report.completed, report.failed) == (2, 0, 1)
    statuses = {p.id: p.status for p in (await service.history(who, PageRequest())).items}
    assert statuses == {
        refused.purchase_id: PurchaseStatus.PENDING,
        unpaid.purchase_id: PurchaseStatus.FAILED,
    }


async def test_the_reconcile_cron_runs_as_a_task_every_15_minutes(c: Any, clock: FakeClock) -> None:
    from mas.core.platform.tasking import NoArgs
    from mas.modules import MODULES

    crons = {task.name: expr for module in MODULES for task, expr in module.crons.items()}
    assert crons["tokens.reconcile_pending_purchases"] == "*/15 * * * *"
    who = await buyer(c)
    checkout = await c.tokens.purchases.purchases.buy(who, PurchaseRequest(pack_code="T2"))
    gateway_of(c).pay(checkout.order_id)
    clock.advance(minutes=16)
    bound = c.tasks["tokens.reconcile_pending_purchases"]
    await bound.handler.run(bound.services, NoArgs())
    assert await balance(c, who) == 2
