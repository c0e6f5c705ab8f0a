"""RazorpayXPayouts against a fake RazorpayX speaking its wire format (tests/razorpayx_fake.py)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from mas.adapters.payouts.razorpayx import RazorpayXPayouts
from mas.core.platform.errors import ExternalUnavailable, NotConfigured, UpstreamRejected
from mas.core.tokens.earnings.ports import PayoutPort, PayoutStatus
from tests.razorpayx_fake import ACCOUNT, KEY_ID, KEY_SECRET, FakeRazorpayX


@pytest.fixture
def razorpayx() -> FakeRazorpayX:
    return FakeRazorpayX()


@pytest.fixture
async def http(razorpayx: FakeRazorpayX) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=razorpayx)) as client:
        yield client


def client_for(http: httpx.AsyncClient, **changes: str) -> RazorpayXPayouts:
    settings = {"key_id": KEY_ID, "key_secret": KEY_SECRET, "account_number": ACCOUNT}
    settings.update(changes)
    return RazorpayXPayouts(http=http, base_url="https://api.razorpay.com", **settings)


@pytest.fixture
def client(http: httpx.AsyncClient) -> RazorpayXPayouts:
    return client_for(http)


def test_is_a_payout_port(client: RazorpayXPayouts) -> None:
    port: PayoutPort = client
    assert port is client


def test_without_keys_it_is_not_configured() -> None:
    with pytest.raises(NotConfigured):
        RazorpayXPayouts(key_id=KEY_ID, key_secret=KEY_SECRET, account_number=" ")


async def test_a_upi_payout_is_one_composite_request(
    client: RazorpayXPayouts, razorpayx: FakeRazorpayX
) -> None:
    payout = await client.create_payout(60000, "UPI", "mentor.one@okhdfc", "Asha Rao", "wd-1")
    assert (payout.status, payout.amount_paise) == (PayoutStatus.PROCESSING, 60000)
    method, path, headers, raw = razorpayx.requests[-1]
    assert (method, path, headers["x-payout-idempotency"]) == ("POST", "/v1/payouts", "wd-1")
    body = json.loads(raw)
    assert body["mode"] == "UPI" and body["account_number"] == ACCOUNT
    assert body["fund_account"]["vpa"] == {"address": "mentor.one@okhdfc"}
    assert body["fund_account"]["contact"]["name"] == "Asha Rao"
    again = await client.create_payout(60000, "UPI", "mentor.one@okhdfc", "Asha Rao", "wd-1")
    assert again.id == payout.id and len(razorpayx.payouts) == 1


async def test_a_bank_payout_goes_by_imps(
    client: RazorpayXPayouts, razorpayx: FakeRazorpayX
) -> None:
    await client.create_payout(70000, "BANK", "123456789012:HDFC0001234", "Asha Rao", "wd-2")
    body = json.loads(razorpayx.requests[-1][3])
    assert body["mode"] == "IMPS"
    assert body["fund_account"]["bank_account"] == {
        "name": "Asha Rao",
        "ifsc": "HDFC0001234",
        "account_number": "123456789012",
    }


async def test_fetch_reads_a_settled_payout(
    client: RazorpayXPayouts, razorpayx: FakeRazorpayX
) -> None:
    payout = await client.create_payout(60000, "UPI", "mentor.one@okhdfc", "Asha", "wd-3")
    razorpayx.settle(payout.id, "processed")
    processed = await client.fetch_payout(payout.id)
    assert processed.status == PayoutStatus.PROCESSED and processed.utr
    other = await client.create_payout(60000, "UPI", "mentor.two@okhdfc", "Ravi", "wd-4")
    razorpayx.settle(other.id, "reversed")
    reversed_ = await client.fetch_payout(other.id)
    assert reversed_.status == PayoutStatus.REVERSED
    assert reversed_.failure_reason == "Beneficiary bank rejected the payout"


async def test_a_refusal_is_upstream_rejected(client: RazorpayXPayouts) -> None:
    with pytest.raises(UpstreamRejected, match="Invalid VPA"):
        await client.create_payout(60000, "UPI", "invalid@okhdfc", "Asha", "wd-5")
    with pytest.raises(UpstreamRejected, match="does not exist"):
        await client.fetch_payout("pout_missing")


async def test_wrong_keys_are_a_refusal(http: httpx.AsyncClient) -> None:
    with pytest.raises(UpstreamRejected, match="api key"):
        await client_for(http, key_secret="wrong").fetch_payout("pout_x")


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_an_unknown_outcome_is_external_unavailable(
    client: RazorpayXPayouts, razorpayx: FakeRazorpayX, status: int
) -> None:
    razorpayx.fail(status, b'{"error": {"code": "SERVER_ERROR"}}')
    with pytest.raises(ExternalUnavailable):
        await client.create_payout(60000, "UPI", "mentor.one@okhdfc", "Asha", "wd-6")


async def test_an_unreadable_answer_is_external_unavailable(
    client: RazorpayXPayouts, razorpayx: FakeRazorpayX
) -> None:
    razorpayx.fail(200, b"<html>gateway</html>")
    with pytest.raises(ExternalUnavailable):
        await client.fetch_payout("pout_x")
    razorpayx.fail(200, b'{"entity": "payout"}')
    with pytest.raises(ExternalUnavailable):
        await client.fetch_payout("pout_x")


async def test_an_unreachable_gateway_is_external_unavailable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        with pytest.raises(ExternalUnavailable):
            await client_for(http).fetch_payout("pout_x")
