"""The payment mirror over HTTP (payments-finance.md §5, §9 check 10): FINANCE and ADMIN list,
read, sync and reconcile; every other role gets 403 on every /api/finance/payments route; each
match, ignore and unmatch writes one GST audit row; Razorpay keys unset → 503."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from mas.adapters.fakes.payments import FakeGateway
from mas.core.finance.payments.model import PaymentFilter
from mas.core.identity.model import AuthMethod, User
from mas.core.identity.policy import Caller, Platform, Role
from mas.core.platform.paging import PageRequest
from mas.core.platform.ports.payments import GatewayPayment, PaymentStatus
from mas.core.tokens.purchases.model import PurchaseRequest
from tests.conftest import make_settings, open_container
from tests.http.conftest import add_user, http_client

Client = AsyncTestClient[Any]
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
async def shop(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Any]:
    c = await open_container(make_settings(sqlite_url, tmp_path, payments_provider="fake"))
    yield c
    await c.close()


@pytest.fixture
async def api(shop: Any) -> AsyncIterator[Client]:
    async with http_client(shop) as t:
        yield t


@pytest.fixture
async def people(shop: Any) -> dict[Role, User]:
    return {role: await add_user(shop, role) for role in Role}


def headers(c: Any, user: User) -> dict[str, str]:
    token = c.identity.issuer.access_token(
        user, Platform.MY_ANALYTICS_SCHOOL, AuthMethod.PASSWORD, None
    )
    return {"Authorization": f"Bearer {token}", "X-Platform": Platform.MY_ANALYTICS_SCHOOL.value}


async def mirrored(c: Any, n: int = 1, **changes: Any) -> Any:
    fields: dict[str, Any] = {
        "id": f"pay_http{n:010d}",
        "amount_paise": 35000,
        "currency": "INR",
        "status": PaymentStatus.CAPTURED,
        "order_id": f"order_http{n:08d}",
        "email": f"Payer{n}@Example.com",
        "created_at": NOW - timedelta(hours=n),
    }
    fields.update(changes)
    await c.finance.payments.mirror.mirror([GatewayPayment(**fields)])
    async with c.uow() as uow:
        page = await uow.global_payments.page(PaymentFilter(email=fields["email"]), PageRequest())
    return page.items[0]


def routes(payment_id: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    base = "/api/finance/payments"
    return [
        ("GET", base, None),
        ("GET", f"{base}/sync", None),
        (
            "POST",
            f"{base}/sync",
            {"from": (NOW - timedelta(days=1)).isoformat(), "to": NOW.isoformat()},
        ),
        ("GET", f"{base}/{payment_id}", None),
        ("POST", f"{base}/{payment_id}/ignore", {"reason": "test payment"}),
        ("POST", f"{base}/{payment_id}/unmatch", None),
        ("POST", f"{base}/{payment_id}/match", {"type": "OTHER", "id": str(payment_id)}),
    ]


async def test_only_finance_and_admin_reach_the_payment_routes(
    shop: Any, api: Client, people: dict[Role, User]
) -> None:
    payment = await mirrored(shop)
    for role, user in people.items():
        if role in (Role.FINANCE, Role.ADMIN, Role.SUPERADMIN):
            continue
        for method, path, body in routes(str(payment.id)):
            answer = await api.request(method, path, json=body, headers=headers(shop, user))
            assert answer.status_code == 403, (role, method, path, answer.text)
    for method, path, body in routes(str(payment.id)):
        anonymous = await api.request(method, path, json=body)
        assert anonymous.status_code == 401, (method, path)
    # ADMIN reads the list (§9 check 10: ADMIN gets 200).
    answer = await api.get("/api/finance/payments", headers=headers(shop, people[Role.ADMIN]))
    assert answer.status_code == 200 and answer.json()["total"] == 1


async def test_finance_lists_with_filters(shop: Any, api: Client, people: dict[Role, User]) -> None:
    me = headers(shop, people[Role.FINANCE])
    await mirrored(shop, 1)
    await mirrored(shop, 2, status=PaymentStatus.FAILED)
    await mirrored(shop, 3, notes={"tokenPurchaseId": "not-a-uuid"})
    listed = (await api.get("/api/finance/payments?page_size=2", headers=me)).json()
    assert (listed["total"], [p["razorpay_payment_id"] for p in listed["items"]]) == (
        3,
        ["pay_http0000000001", "pay_http0000000002"],
    )
    failed = await api.get("/api/finance/payments?status=failed", headers=me)
    assert [p["gateway_status"] for p in failed.json()["items"]] == ["failed"]
    tokens = await api.get("/api/finance/payments?source=TOKEN_PURCHASE", headers=me)
    assert [p["razorpay_payment_id"] for p in tokens.json()["items"]] == ["pay_http0000000003"]
    by_mail = await api.get("/api/finance/payments?email=payer2@example.com", headers=me)
    assert by_mail.json()["total"] == 1
    since = (NOW - timedelta(hours=1, minutes=30)).isoformat()
    recent = await api.get(
        "/api/finance/payments", params={"from": since, "to": NOW.isoformat()}, headers=me
    )
    assert recent.json()["total"] == 1
    too_long = await api.get(
        "/api/finance/payments",
        params={"from": (NOW - timedelta(days=367)).isoformat(), "to": NOW.isoformat()},
        headers=me,
    )
    assert too_long.status_code == 422 and too_long.json()["code"] == "bad_window"


async def test_match_ignore_unmatch_each_write_one_audit_row(
    shop: Any, api: Client, people: dict[Role, User]
) -> None:
    me = headers(shop, people[Role.FINANCE])
    payment = await mirrored(shop)
    base = f"/api/finance/payments/{payment.id}"
    buyer = people[Role.USER]
    who = Caller(user_id=buyer.id, role=Role.USER, platform=Platform.MR_MENTOR)
    checkout = await shop.tokens.purchases.purchases.buy(who, PurchaseRequest(pack_code="T1"))

    ignored = await api.post(f"{base}/ignore", json={"reason": "a test charge"}, headers=me)
    assert ignored.status_code == 200, ignored.text
    assert ignored.json()["payment"]["ignore_reason"] == "a test charge"
    refused = await api.post(
        f"{base}/match",
        json={"type": "TOKEN_PURCHASE", "id": str(checkout.purchase_id)},
        headers=me,
    )
    assert refused.status_code == 409 and refused.json()["code"] == "illegal_transition"
    assert (await api.post(f"{base}/unmatch", headers=me)).status_code == 200
    unknown = await api.post(
        f"{base}/match", json={"type": "TOKEN_PURCHASE", "id": str(payment.id)}, headers=me
    )
    assert unknown.status_code == 404 and unknown.json()["code"] == "entity_not_found"
    matched = await api.post(
        f"{base}/match",
        json={"type": "TOKEN_PURCHASE", "id": str(checkout.purchase_id)},
        headers=me,
    )
    assert matched.status_code == 200, matched.text
    body = matched.json()["payment"]
    assert (body["reconciliation_status"], body["user_id"]) == ("MATCHED", str(buyer.id))
    again = await api.post(
        f"{base}/match", json={"type": "OTHER", "id": str(payment.id)}, headers=me
    )
    assert again.status_code == 409 and again.json()["code"] == "payment_already_matched"
    detail = (await api.get(base, headers=me)).json()
    assert (
        detail["invoice_issued"] is False
        and detail["payment"]["matched_entity_type"] == "TOKEN_PURCHASE"
    )

    trail = await api.get(
        f"/api/finance/audit?entityType=PAYMENT_MATCH&entityId={payment.id}", headers=me
    )
    actions = [r["action"] for r in trail.json()["items"]]
    assert actions == ["MATCHED", "UNMATCHED", "IGNORED"]  # newest first; refusals wrote none
    assert trail.json()["items"][0]["actor_id"] == str(people[Role.FINANCE].id)
    missing = await api.post(
        "/api/finance/payments/0190f000-0000-7000-8000-000000000001/unmatch", headers=me
    )
    assert missing.status_code == 404


async def test_an_issued_invoice_blocks_unmatching(
    shop: Any, api: Client, people: dict[Role, User]
) -> None:
    me = headers(shop, people[Role.FINANCE])
    payment = await mirrored(shop)
    base = f"/api/finance/payments/{payment.id}"
    assert (
        await api.post(f"{base}/match", json={"type": "OTHER", "id": str(payment.id)}, headers=me)
    ).status_code == 200

    class Issued:
        async def has_issued(self, uow: Any, payment_id: Any) -> bool:
            return bool(payment_id == payment.id)

    shop.finance.payments.desk._invoices = Issued()
    blocked = await api.post(f"{base}/unmatch", headers=me)
    assert blocked.status_code == 409 and blocked.json()["code"] == "invoice_issued"
    assert (await api.get(base, headers=me)).json()["invoice_issued"] is True


async def test_an_on_demand_sync_is_queued_and_refused_while_one_runs(
    shop: Any, api: Client, people: dict[Role, User]
) -> None:
    me = headers(shop, people[Role.FINANCE])
    gateway = shop.tokens.purchases.gateway
    assert isinstance(gateway, FakeGateway)
    gateway.payments["pay_sync000000001"] = GatewayPayment(
        id="pay_sync000000001",
        amount_paise=1000,
        currency="INR",
        status=PaymentStatus.CAPTURED,
        created_at=NOW - timedelta(hours=2),
    )
    window = {"from": (NOW - timedelta(days=1)).isoformat(), "to": NOW.isoformat()}
    queued = await api.post("/api/finance/payments/sync", json=window, headers=me)
    assert queued.status_code == 202, queued.text
    listed = await api.get("/api/finance/payments", headers=me)  # the task ran inline
    assert [p["razorpay_payment_id"] for p in listed.json()["items"]] == ["pay_sync000000001"]
    state = (await api.get("/api/finance/payments/sync", headers=me)).json()
    assert (state["last_status"], state["running"]) == ("ok", False)
    long = {"from": (NOW - timedelta(days=32)).isoformat(), "to": NOW.isoformat()}
    too_long = await api.post("/api/finance/payments/sync", json=long, headers=me)
    assert too_long.status_code == 422 and too_long.json()["code"] == "bad_window"
    async with shop.uow() as uow:
        assert await uow.global_payment_sync.acquire("another-run", shop.clock.now(), 600.0)
        await uow.commit()
    busy = await api.post("/api/finance/payments/sync", json=window, headers=me)
    assert busy.status_code == 409 and busy.json()["code"] == "sync_running"


async def test_without_razorpay_keys_the_routes_answer_503(
    sqlite_container: Any, client: Client, auth: Any
) -> None:
    answer = await client.get("/api/finance/payments", headers=auth(Role.FINANCE))
    assert answer.status_code == 503 and answer.json()["code"] == "integration_not_configured"
    window = {"from": (NOW - timedelta(days=1)).isoformat(), "to": NOW.isoformat()}
    sync = await client.post("/api/finance/payments/sync", json=window, headers=auth())
    assert sync.status_code == 503
