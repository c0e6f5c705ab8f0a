"""RazorpayGateway against a fake Razorpay speaking its wire format (tests/razorpay_fake.py)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from mas.adapters.fakes.payments import FakeGateway, signed_headers
from mas.adapters.payments.razorpay import RazorpayGateway
from mas.core.platform.errors import NotConfigured, Transient
from mas.core.platform.ports.payments import (
    BadWebhookBody,
    GatewayRejected,
    GatewayUnavailable,
    OrderStatus,
    PaymentPort,
    PaymentStatus,
    checkout_signature,
    webhook_signature,
)
from tests.razorpay_fake import (
    KEY_ID,
    KEY_SECRET,
    FakeRazorpay,
    html_error,
    razorpay_error,
    server_error,
)

WEBHOOK_SECRET = "whsec-test"
NOTES = {"tokenPurchaseId": "p1", "userId": "u1", "tokenQuantity": "5"}


@pytest.fixture
def razorpay() -> FakeRazorpay:
    return FakeRazorpay()


@pytest.fixture
async def http(razorpay: FakeRazorpay) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=razorpay)) as client:
        yield client


def gateway(http: httpx.AsyncClient, **changes: str) -> RazorpayGateway:
    settings = {
        "key_id": KEY_ID,
        "key_secret": KEY_SECRET,
        "webhook_secret": WEBHOOK_SECRET,
        "base_url": "https://api.razorpay.com",
    }
    settings.update(changes)
    return RazorpayGateway(http=http, **settings)


def test_both_gateways_are_payment_ports(http: httpx.AsyncClient) -> None:
    ports: list[PaymentPort] = [gateway(http), FakeGateway()]
    assert [p.key_id for p in ports] == [KEY_ID, "rzp_test_fake"]


async def test_an_order_is_created_with_basic_auth_and_read_back(
    http: httpx.AsyncClient, razorpay: FakeRazorpay
) -> None:
    client = gateway(http)
    order = await client.create_order(175000, "INR", "tp_0192", NOTES)
    assert order.status is OrderStatus.CREATED
    assert (order.amount_paise, order.currency, order.receipt) == (175000, "INR", "tp_0192")
    assert order.notes == NOTES and order.created_at is not None
    sent = razorpay.requests[-1]
    assert (sent.method, sent.path) == ("POST", "/v1/orders")
    assert sent.json() == {
        "amount": 175000,
        "currency": "INR",
        "receipt": "tp_0192",
        "notes": NOTES,
    }
    assert (await client.fetch_order(order.id)) == order


async def test_a_paid_order_lists_its_captured_payment(
    http: httpx.AsyncClient, razorpay: FakeRazorpay
) -> None:
    client = gateway(http)
    order = await client.create_order(35000, "INR", "tp_1", {})
    assert order.notes == {}  # Razorpay's [] for an empty notes object
    payment_id, signature = razorpay.pay(order.id)
    paid = await client.fetch_order(order.id)
    assert (paid.status, paid.amount_paid_paise, paid.attempts) == (OrderStatus.PAID, 35000, 1)
    [payment] = await client.fetch_order_payments(order.id)
    assert (payment.id, payment.status, payment.order_id) == (
        payment_id,
        PaymentStatus.CAPTURED,
        order.id,
    )
    assert (payment.method, payment.fee_paise, payment.fee_tax_paise) == ("upi", 354, 54)
    assert (await client.fetch_payment(payment_id)) == payment
    listed = await client.list_payments(0, 2**31, 0, 500)
    assert [p.id for p in listed] == [payment_id]
    assert razorpay.requests[-1].query["count"] == "100"  # Razorpay's ceiling
    assert client.verify_checkout_signature(order.id, payment_id, signature)


async def test_bad_keys_are_a_rejection_not_an_outage(http: httpx.AsyncClient) -> None:
    with pytest.raises(GatewayRejected) as caught:
        await gateway(http, key_secret="wrong").create_order(35000, "INR", "tp_1", {})
    assert (caught.value.status, caught.value.gateway_code) == (401, "BAD_REQUEST_ERROR")
    assert "Authentication failed" in caught.value.detail
    assert not isinstance(caught.value, Transient)


async def test_a_refusal_carries_razorpays_code_and_description(
    http: httpx.AsyncClient, razorpay: FakeRazorpay
) -> None:
    client = gateway(http)
    with pytest.raises(GatewayRejected) as caught:
        await client.create_order(50, "INR", "tp_1", {})
    assert caught.value.description == "Order amount less than minimum amount allowed"
    with pytest.raises(GatewayRejected, match="does not exist"):
        await client.fetch_order("order_missing")
    with pytest.raises(GatewayRejected, match="does not exist"):
        await client.fetch_payment("../orders")  # never sent: not one path segment
    assert razorpay.requests[-1].path == "/v1/orders/order_missing"


@pytest.mark.parametrize(
    "answer",
    [
        razorpay_error(429, "Too many requests"),
        server_error(500),
        server_error(503),
        html_error(502),
    ],
)
async def test_throttling_and_server_errors_are_unavailable(
    http: httpx.AsyncClient, razorpay: FakeRazorpay, answer: tuple[int, bytes, dict[str, str]]
) -> None:
    razorpay.fail_with.append(answer)
    with pytest.raises(GatewayUnavailable) as caught:
        await gateway(http).create_order(35000, "INR", "tp_1", {})
    assert isinstance(caught.value, Transient)
    assert razorpay.orders == {}


async def test_retry_after_is_read_from_a_429(
    http: httpx.AsyncClient, razorpay: FakeRazorpay
) -> None:
    status, body, headers = razorpay_error(429, "Too many requests")
    razorpay.fail_with.append((status, body, {**headers, "Retry-After": "7"}))
    with pytest.raises(GatewayUnavailable) as caught:
        await gateway(http).fetch_order("order_1")
    assert caught.value.retry_after == 7


async def test_a_malformed_answer_is_unavailable(
    http: httpx.AsyncClient, razorpay: FakeRazorpay
) -> None:
    razorpay.fail_with.append((200, b'{"id": 5}', {"content-type": "application/json"}))
    with pytest.raises(GatewayUnavailable, match="malformed"):
        await gateway(http).fetch_order("order_1")


async def test_an_unreachable_gateway_is_unavailable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        with pytest.raises(GatewayUnavailable, match="not reachable"):
            await gateway(http).fetch_order("order_1")


async def test_missing_keys_are_not_configured(http: httpx.AsyncClient) -> None:
    client = gateway(http, key_id="", key_secret="")
    assert not client.configured
    with pytest.raises(NotConfigured):
        await client.fetch_order("order_1")
    assert not client.verify_checkout_signature("order_1", "pay_1", "anything")


def test_checkout_signature_is_hmac_of_order_and_payment(http: httpx.AsyncClient) -> None:
    client = gateway(http)
    good = checkout_signature(KEY_SECRET, "order_1", "pay_1")
    assert client.verify_checkout_signature("order_1", "pay_1", good)
    assert not client.verify_checkout_signature("order_1", "pay_2", good)
    assert not client.verify_checkout_signature("order_1", "pay_1", good[:-1] + "0")
    assert not client.verify_checkout_signature("order_1", "pay_1", "")


def test_webhook_signature_and_event(http: httpx.AsyncClient) -> None:
    client = gateway(http)
    body = json.dumps(
        {
            "entity": "event",
            "account_id": "acc_BFQ7uQEaa7j2z7",
            "event": "payment.captured",
            "contains": ["payment"],
            "payload": {
                "payment": {
                    "entity": {
                        "id": "pay_6koWN7bvxujzxM",
                        "entity": "payment",
                        "amount": 1000000,
                        "currency": "INR",
                        "status": "captured",
                        "order_id": "order_100000000order",
                        "method": "card",
                        "captured": True,
                        "notes": [],
                        "fee": 23000,
                        "tax": 3000,
                        "created_at": 1479978483,
                    }
                }
            },
            "created_at": 1400826760,
        }
    ).encode()
    headers = signed_headers(body, WEBHOOK_SECRET)
    assert client.verify_webhook_signature(body, headers["X-Razorpay-Signature"])
    assert not client.verify_webhook_signature(body + b" ", headers["X-Razorpay-Signature"])
    assert not gateway(http, webhook_secret="").verify_webhook_signature(
        body, webhook_signature("", body)
    )
    event = client.parse_webhook(body)
    assert event.event == "payment.captured" and event.order is None
    assert event.payment is not None
    assert (event.payment.id, event.payment.order_id, event.payment.amount_paise) == (
        "pay_6koWN7bvxujzxM",
        "order_100000000order",
        1000000,
    )
    assert event.payment.notes == {}
    with pytest.raises(BadWebhookBody):
        client.parse_webhook(b'{"payload": {}}')
    with pytest.raises(BadWebhookBody):
        client.parse_webhook(b"not json")
