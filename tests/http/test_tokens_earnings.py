"""Mentor earnings through the whole app: the mentor's routes, the ADMIN's and FINANCE's, and
RazorpayX's signed webhook (tokens-earnings.md §5, §9 checks 13–16)."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from mas.adapters.fakes.payouts import FakePayouts
from mas.core.identity.model import User
from mas.core.identity.policy import Role
from mas.core.platform.ids import uuid7
from mas.modules.tokens.earnings import install
from tests.conftest import extra_modules, make_settings, open_container
from tests.http.conftest import Auth, add_user

SECRET = "whsec-http-test"


class FakePurse:
    def __init__(self) -> None:
        self.held: dict[uuid.UUID, int] = {}

    async def held_for_slot(self, uow: Any, slot_id: uuid.UUID) -> int:
        return self.held.get(slot_id, 0)


@pytest.fixture
async def sqlite_container(
    request: pytest.FixtureRequest, sqlite_url: str, tmp_path: Path
) -> AsyncIterator[Any]:
    settings = make_settings(sqlite_url, tmp_path, razorpay_webhook_secret=SECRET)
    c = await open_container(settings, extra=extra_modules(request))
    yield c
    await c.close()


@pytest.fixture
def purse() -> FakePurse:
    return FakePurse()


@pytest.fixture
def payouts(sqlite_container: Any, purse: FakePurse) -> FakePayouts:
    gateway = FakePayouts()
    install(sqlite_container, purse, gateway)  # type: ignore[arg-type]
    return gateway


async def credit(c: Any, purse: FakePurse, mentor: User, tokens: int) -> uuid.UUID:
    slot = uuid7()
    purse.held[slot] = tokens
    async with c.uow() as uow:
        result = await c.tokens.earnings.credit_meeting(uow, slot, mentor.id)
        await uow.commit()
    assert result.credited
    return slot


def signed(event: dict[str, Any], secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(event).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return body, {"X-Razorpay-Signature": signature, "Content-Type": "application/json"}


def payout_event(name: str, payout_id: str, status: str) -> dict[str, Any]:
    return {
        "entity": "event",
        "account_id": "acc_fake",
        "event": name,
        "contains": ["payout"],
        "payload": {
            "payout": {
                "entity": {
                    "id": payout_id,
                    "entity": "payout",
                    "amount": 60000,
                    "status": status,
                    "utr": "UTR777" if status == "processed" else None,
                    "failure_reason": None if status == "processed" else "account closed",
                }
            }
        },
        "created_at": 1733350000,
    }


async def test_a_mentors_withdrawal_paid_by_razorpayx_and_reversed(
    client: AsyncTestClient[Any],
    auth: Auth,
    accounts: dict[Role, User],
    sqlite_container: Any,
    purse: FakePurse,
    payouts: FakePayouts,
) -> None:
    mentor = accounts[Role.EXPERT]
    expert = auth(Role.EXPERT)
    empty = await client.get("/api/mentor/earnings", headers=expert)
    assert empty.status_code == 200, empty.text
    assert empty.json()["total_earnings_paise"] == 0 and empty.json()["last_transaction"] is None
    assert (await client.get("/api/mentor/earnings", headers=auth(Role.USER))).status_code == 403

    await credit(sqlite_container, purse, mentor, 3)  # 105000
    bad = await client.post(
        "/api/mentor/withdraw",
        json={"amount_paise": 60000, "payment_method": "UPI", "bank_upi": "no-at-sign"},
        headers=expert,
    )
    assert (bad.status_code, bad.json()["code"]) == (422, "bad_destination")
    much = await client.post(
        "/api/mentor/withdraw",
        json={"amount_paise": 200000, "payment_method": "UPI", "bank_upi": "asha.r@okhdfc"},
        headers=expert,
    )
    assert (much.status_code, much.json()["code"]) == (409, "insufficient_balance")
    made = await client.post(
        "/api/mentor/withdraw",
        json={"amount_paise": 60000, "payment_method": "UPI", "bank_upi": "asha.r@okhdfc"},
        headers=expert,
    )
    assert made.status_code == 201, made.text
    withdrawal = made.json()
    assert withdrawal["status"] == "requested" and withdrawal["bank_upi"] == "as****@okhdfc"
    again = await client.post(
        "/api/mentor/withdraw",
        json={"amount_paise": 50000, "payment_method": "UPI", "bank_upi": "asha.r@okhdfc"},
        headers=expert,
    )
    assert (again.status_code, again.json()["code"]) == (409, "withdrawal_open")

    history = await client.get("/api/mentor/payment-history?page_size=50", headers=expert)
    assert [t["type"] for t in history.json()["items"]] == ["withdrawal", "earning"]
    too_many = await client.get("/api/mentor/payment-history?page_size=51", headers=expert)
    assert too_many.status_code in (400, 422)  # the limit is 50

    listed = await client.get(
        "/api/mentor/withdrawal-requests?status=requested", headers=auth(Role.FINANCE)
    )
    assert listed.status_code == 200, listed.text
    [row] = listed.json()["items"]
    assert (row["mentor_email"], row["bank_upi"]) == (mentor.email, "as****@okhdfc")
    assert (await client.get("/api/mentor/withdrawal-requests", headers=expert)).status_code == 403

    detail = await client.get(f"/api/admin/mentor-earnings/{mentor.id}", headers=auth())
    assert detail.json()["transactions"][0]["bank_upi"] == "asha.r@okhdfc"  # ADMIN sees it
    masked = await client.get(f"/api/admin/mentor-earnings/{mentor.id}", headers=auth(Role.FINANCE))
    assert masked.json()["transactions"][0]["bank_upi"] == "as****@okhdfc"
    assert (
        await client.get(f"/api/admin/mentor-earnings/{uuid7()}", headers=auth())
    ).status_code == 404

    process = f"/api/admin/mentor-earnings/withdrawals/{withdrawal['id']}/process"
    sent = await client.post(process, json={"mode": "RAZORPAY"}, headers=auth())
    assert sent.status_code == 200, sent.text
    assert (sent.json()["status"], sent.json()["razorpay_payout_id"]) == (
        "in_process",
        "pout_fake_1",
    )
    assert (await client.post(process, json={"mode": "MANUAL"}, headers=auth())).status_code == 409

    body, headers = signed(payout_event("payout.reversed", "pout_fake_1", "reversed"))
    forged = await client.post(
        "/api/webhooks/razorpayx",
        content=body,
        headers={**headers, "X-Razorpay-Signature": "0" * 64},
    )
    assert (forged.status_code, forged.json()["code"]) == (401, "bad_signature")
    unsigned = await client.post("/api/webhooks/razorpayx", content=body)
    assert unsigned.status_code == 401
    still = await client.get("/api/mentor/earnings", headers=expert)
    assert still.json()["pending_withdrawal_paise"] == 60000

    received = await client.post("/api/webhooks/razorpayx", content=body, headers=headers)
    assert received.json() == {"applied": True}  # check 16
    replay = await client.post("/api/webhooks/razorpayx", content=body, headers=headers)
    assert replay.json() == {"applied": False}
    after = (await client.get("/api/mentor/earnings", headers=expert)).json()
    assert (after["available_balance_paise"], after["pending_withdrawal_paise"]) == (105000, 0)
    assert after["last_transaction"]["status"] == "failed"


async def test_manual_completion_cancel_and_credit(
    client: AsyncTestClient[Any],
    auth: Auth,
    accounts: dict[Role, User],
    sqlite_container: Any,
    purse: FakePurse,
    payouts: FakePayouts,
) -> None:
    mentor = accounts[Role.EXPERT]
    expert = auth(Role.EXPERT)
    slot = uuid7()
    purse.held[slot] = 2
    credit_body = {"slot_id": str(slot), "mentor_id": str(mentor.id), "reason": "missed by the job"}
    credited = await client.post(
        "/api/admin/mentor-earnings/credit-meeting", json=credit_body, headers=auth()
    )
    assert credited.status_code == 200, credited.text
    assert credited.json()["amount_paise"] == 70000
    twice = await client.post(
        "/api/admin/mentor-earnings/credit-meeting", json=credit_body, headers=auth()
    )
    assert (twice.status_code, twice.json()["code"]) == (409, "already_credited")
    stranger = await add_user(sqlite_container, Role.USER)
    nobody = await client.post(
        "/api/admin/mentor-earnings/credit-meeting",
        json={**credit_body, "mentor_id": str(stranger.id)},
        headers=auth(),
    )
    assert nobody.status_code == 404

    made = await client.post(
        "/api/mentor/withdraw",
        json={
            "amount_paise": 50000,
            "payment_method": "BANK",
            "bank_upi": "123456789012:HDFC0001234",
        },
        headers=expert,
    )
    txn = made.json()["id"]
    assert made.json()["bank_upi"] == "XXXXXXXX9012:HDFC0001234"
    cancel = await client.post(f"/api/mentor/withdrawals/{txn}/cancel", headers=expert)
    assert cancel.json()["status"] == "cancelled"
    assert (
        await client.post(f"/api/mentor/withdrawals/{txn}/cancel", headers=expert)
    ).status_code == 409

    made = await client.post(
        "/api/mentor/withdraw",
        json={"amount_paise": 50000, "payment_method": "UPI", "bank_upi": "asha.r@okhdfc"},
        headers=expert,
    )
    txn = made.json()["id"]
    done = await client.post(
        "/api/mentor/complete-withdrawal",
        json={"transaction_id": txn, "reference": "UTR998877"},
        headers=auth(),
    )
    assert (done.status_code, done.json()["status"]) == (200, "completed")
    twice = await client.post(
        "/api/mentor/complete-withdrawal",
        json={"transaction_id": txn, "reference": "UTR998877"},
        headers=auth(),
    )
    assert twice.status_code == 409
    missing = await client.post(
        "/api/mentor/complete-withdrawal",
        json={"transaction_id": str(uuid7()), "reference": "UTR1"},
        headers=auth(),
    )
    assert missing.status_code == 404
    no_reference = await client.post(
        "/api/mentor/complete-withdrawal",
        json={"transaction_id": txn, "reference": "   "},
        headers=auth(),
    )
    assert no_reference.status_code in (400, 422)
    summary = (await client.get("/api/mentor/earnings", headers=expert)).json()
    assert (summary["total_earnings_paise"], summary["withdrawn_amount_paise"]) == (70000, 50000)
    assert summary["available_balance_paise"] == 20000


async def test_razorpay_mode_without_razorpayx_is_503(
    client: AsyncTestClient[Any],
    auth: Auth,
    accounts: dict[Role, User],
    sqlite_container: Any,
    purse: FakePurse,
) -> None:
    install(sqlite_container, purse, None)  # type: ignore[arg-type]
    mentor = accounts[Role.EXPERT]
    await credit(sqlite_container, purse, mentor, 2)
    made = await client.post(
        "/api/mentor/withdraw",
        json={"amount_paise": 50000, "payment_method": "UPI", "bank_upi": "asha.r@okhdfc"},
        headers=auth(Role.EXPERT),
    )
    process = f"/api/admin/mentor-earnings/withdrawals/{made.json()['id']}/process"
    refused = await client.post(process, json={"mode": "RAZORPAY"}, headers=auth())
    assert (refused.status_code, refused.json()["code"]) == (503, "integration_not_configured")
    manual = await client.post(process, json={"mode": "MANUAL"}, headers=auth())
    assert manual.json()["status"] == "in_process"
    cancel = await client.post(
        f"/api/admin/mentor-earnings/withdrawals/{made.json()['id']}/cancel",
        json={"reason": "wrong VPA"},
        headers=auth(),
    )
    assert cancel.json()["status"] == "cancelled"


async def test_the_webhook_completes_a_processed_payout_and_ignores_other_events(
    client: AsyncTestClient[Any],
    auth: Auth,
    accounts: dict[Role, User],
    sqlite_container: Any,
    purse: FakePurse,
    payouts: FakePayouts,
) -> None:
    mentor = accounts[Role.EXPERT]
    await credit(sqlite_container, purse, mentor, 2)
    made = await client.post(
        "/api/mentor/withdraw",
        json={"amount_paise": 60000, "payment_method": "UPI", "bank_upi": "asha.r@okhdfc"},
        headers=auth(Role.EXPERT),
    )
    process = f"/api/admin/mentor-earnings/withdrawals/{made.json()['id']}/process"
    await client.post(process, json={"mode": "RAZORPAY"}, headers=auth())
    other, other_headers = signed({"event": "payment.captured", "payload": {}})
    ignored = await client.post("/api/webhooks/razorpayx", content=other, headers=other_headers)
    assert ignored.json() == {"applied": False}
    unknown, unknown_headers = signed(payout_event("payout.processed", "pout_other", "processed"))
    stranger = await client.post(
        "/api/webhooks/razorpayx", content=unknown, headers=unknown_headers
    )
    assert stranger.json() == {"applied": False}
    body, headers = signed(payout_event("payout.processed", "pout_fake_1", "processed"))
    done = await client.post("/api/webhooks/razorpayx", content=body, headers=headers)
    assert done.json() == {"applied": True}
    summary = (await client.get("/api/mentor/earnings", headers=auth(Role.EXPERT))).json()
    assert (summary["withdrawn_amount_paise"], summary["pending_withdrawal_paise"]) == (60000, 0)
    assert summary["last_transaction"]["transaction_id"] == "UTR777"
