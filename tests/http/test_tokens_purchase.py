"""Buying tokens over HTTP with the in-process gateway, end to end: the pack list, a purchase,
the checkout's verify, the webhook, cancel and history (tokens-earnings.md §5, §9 checks 2–4)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from mas.adapters.fakes.payments import FakeGateway, signed_headers
from mas.core.identity.model import AuthMethod, User
from mas.core.identity.policy import Platform, Role
from tests.conftest import make_settings, open_container
from tests.http.conftest import add_user, http_client


@pytest.fixture
async def shop(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Any]:
    c = await open_container(make_settings(sqlite_url, tmp_path, payments_provider="fake"))
    yield c
    await c.close()


@pytest.fixture
async def api(shop: Any) -> AsyncIterator[AsyncTestClient[Any]]:
    async with http_client(shop) as t:
        yield t


def headers_of(c: Any, user: User) -> dict[str, str]:
    token = c.identity.issuer.access_token(user, Platform.MR_MENTOR, AuthMethod.PASSWORD, None)
    return {"Authorization": f"Bearer {token}", "X-Platform": Platform.MR_MENTOR.value}


def gateway_of(c: Any) -> FakeGateway:
    gateway = c.tokens.purchases.gateway
    assert isinstance(gateway, FakeGateway)
    return gateway


async def test_the_packs_are_public_and_priced_by_the_catalogue(
    api: AsyncTestClient[Any],
) -> None:
    answer = await api.get("/api/token-packs")
    assert answer.status_code == 200
    packs = answer.json()["items"]
    assert [p["code"] for p in packs] == [f"T{n}" for n in range(1, 11)]
    assert packs[4] == {"code": "T5", "quantity": 5, "price_paise": 175000, "currency": "INR"}


async def test_buy_verify_and_see_the_tokens(shop: Any, api: AsyncTestClient[Any]) -> None:
    student = await add_user(shop, Role.USER)
    me = headers_of(shop, student)
    # A body naming its own price buys at the catalogue's all the same.
    bought = await api.post(
        "/api/tokens/purchase",
        json={"pack_code": "T5", "amount_paise": 100, "amount": 1},
        headers=me,
    )
    assert bought.status_code == 201, bought.text
    checkout = bought.json()
    assert (checkout["amount_paise"], checkout["currency"], checkout["key_id"]) == (
        175000,
        "INR",
        "rzp_test_fake",
    )
    payment_id, signature = gateway_of(shop).pay(checkout["order_id"])
    body = {
        "razorpay_order_id": checkout["order_id"],
        "razorpay_payment_id": payment_id,
        "razorpay_signature": signature,
    }
    forged = await api.post(
        "/api/tokens/verify-payment", json={**body, "razorpay_signature": "0" * 64}, headers=me
    )
    assert forged.status_code == 400 and forged.json()["code"] == "bad_signature"
    balance = (await api.get("/api/tokens/balance", headers=me)).json()
    assert balance["mentor"]["total"] == 0
    for _ in range(2):
        verified = await api.post("/api/tokens/verify-payment", json=body, headers=me)
        assert verified.status_code == 200, verified.text
        assert verified.json()["status"] == "completed"
    balance = (await api.get("/api/tokens/balance", headers=me)).json()
    assert balance["mentor"]["total"] == 5
    history = (await api.get("/api/tokens/history", headers=me)).json()
    assert history["total"] == 1 and history["items"][0]["razorpay_payment_id"] == payment_id


async def test_only_the_owner_verifies_and_cancels(shop: Any, api: AsyncTestClient[Any]) -> None:
    owner, other = await add_user(shop, Role.USER), await add_user(shop, Role.USER)
    bought = await api.post(
        "/api/tokens/purchase", json={"pack_code": "T1"}, headers=headers_of(shop, owner)
    )
    checkout = bought.json()
    payment_id, signature = gateway_of(shop).pay(checkout["order_id"])
    body = {
        "razorpay_order_id": checkout["order_id"],
        "razorpay_payment_id": payment_id,
        "razorpay_signature": signature,
    }
    theirs = await api.post(
        "/api/tokens/verify-payment", json=body, headers=headers_of(shop, other)
    )
    assert theirs.status_code == 403 and theirs.json()["code"] == "not_purchase_owner"
    unknown = await api.post(
        "/api/tokens/verify-payment",
        json={**body, "razorpay_order_id": "order_nope"},
        headers=headers_of(shop, owner),
    )
    assert unknown.status_code == 404
    path = f"/api/tokens/purchase/{checkout['purchase_id']}"
    assert (await api.delete(path, headers=headers_of(shop, other))).status_code == 404
    cancelled = await api.delete(path, headers=headers_of(shop, owner))
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = await api.delete(path, headers=headers_of(shop, owner))
    assert again.status_code == 409 and again.json()["code"] == "purchase_not_pending"


async def test_a_fourth_pending_purchase_and_an_unknown_pack(
    shop: Any, api: AsyncTestClient[Any]
) -> None:
    me = headers_of(shop, await add_user(shop, Role.USER))
    unknown = await api.post("/api/tokens/purchase", json={"pack_code": "T11"}, headers=me)
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_pack"
    extra = await api.post("/api/tokens/purchase", json={"pack_code": "T1", "x": 1}, headers=me)
    assert extra.status_code == 422  # a closed body
    for _ in range(3):
        ok = await api.post("/api/tokens/purchase", json={"pack_code": "T1"}, headers=me)
        assert ok.status_code == 201
    fourth = await api.post("/api/tokens/purchase", json={"pack_code": "T1"}, headers=me)
    assert fourth.status_code == 409 and fourth.json()["code"] == "too_many_pending_purchases"


async def test_a_gateway_outage_is_503_and_the_purchase_failed(
    shop: Any, api: AsyncTestClient[Any]
) -> None:
    me = headers_of(shop, await add_user(shop, Role.USER))
    gateway_of(shop).fail_next(1)
    down = await api.post("/api/tokens/purchase", json={"pack_code": "T2"}, headers=me)
    assert down.status_code == 503 and down.json()["code"] == "payment_gateway_unavailable"
    history = (await api.get("/api/tokens/history", headers=me)).json()
    assert [p["status"] for p in history["items"]] == ["failed"]


async def test_only_students_buy(shop: Any, api: AsyncTestClient[Any]) -> None:
    expert = headers_of(shop, await add_user(shop, Role.EXPERT))
    refused = await api.post("/api/tokens/purchase", json={"pack_code": "T1"}, headers=expert)
    assert refused.status_code == 403
    assert (await api.post("/api/tokens/purchase", json={"pack_code": "T1"})).status_code == 401


async def test_the_webhook_completes_a_purchase(shop: Any, api: AsyncTestClient[Any]) -> None:
    student = await add_user(shop, Role.USER)
    me = headers_of(shop, student)
    checkout = (await api.post("/api/tokens/purchase", json={"pack_code": "T3"}, headers=me)).json()
    gateway = gateway_of(shop)
    gateway.pay(checkout["order_id"])
    headers, body = gateway.webhook("order.paid", checkout["order_id"])
    forged = await api.post(
        "/api/webhooks/razorpay", content=body, headers={**headers, "X-Razorpay-Signature": "0"}
    )
    assert forged.status_code == 401 and forged.json()["code"] == "bad_signature"
    first = await api.post("/api/webhooks/razorpay", content=body, headers=headers)
    assert first.status_code == 200 and first.json() == {"duplicate": False, "applied": True}
    second = await api.post("/api/webhooks/razorpay", content=body, headers=headers)
    assert second.status_code == 200 and second.json() == {"duplicate": True, "applied": False}
    assert (await api.get("/api/tokens/balance", headers=me)).json()["mentor"]["total"] == 3
    other = json.dumps({"entity": "event", "event": "payment.failed", "payload": {}}).encode()
    stored = await api.post("/api/webhooks/razorpay", content=other, headers=signed_headers(other))
    assert stored.status_code == 200 and stored.json()["applied"] is False


async def test_no_provider_answers_503_not_configured(sqlite_url: str, tmp_path: Path) -> None:
    c = await open_container(make_settings(sqlite_url, tmp_path))
    try:
        async with http_client(c, raise_server_exceptions=True) as api:
            me = headers_of(c, await add_user(c, Role.USER))
            answer = await api.post("/api/tokens/purchase", json={"pack_code": "T1"}, headers=me)
            assert answer.status_code == 503
            assert answer.json()["code"] == "integration_not_configured"
            body = b'{"event": "payment.captured", "payload": {}}'
            hook = await api.post(
                "/api/webhooks/razorpay", content=body, headers=signed_headers(body)
            )
            assert hook.status_code == 401
    finally:
        await c.close()
