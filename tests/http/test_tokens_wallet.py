"""The wallet over HTTP: balance and history, an admin's grants, adjustments and debits, the
ledger for finance, and the governance routes (404 while the flag is off)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from litestar.testing import AsyncTestClient

from mas.core.identity.model import User
from mas.core.identity.policy import Role
from tests.http.conftest import Auth, add_user
from tests.integration.test_tokens_wallet import FakeBatches

Client = AsyncTestClient[Any]


async def test_balance_grant_revoke_and_history(
    client: Client, auth: Auth, accounts: dict[Role, User], sqlite_container: Any
) -> None:
    student = accounts[Role.USER]
    answer = await client.get("/api/tokens/balance", headers=auth(Role.USER))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "mentor": {"wallet": 0, "promo": 0, "promo_expires_at": None, "total": 0},
        "resume": {"wallet": 0, "promo": 0, "promo_expires_at": None, "total": 0},
    }
    expires = (sqlite_container.clock.now() + timedelta(days=10)).isoformat()
    body = {"user_id": str(student.id), "token_count": 2, "expires_at": expires, "reason": "launch"}
    created = await client.post("/api/admin/tokens/grants", json=body, headers=auth())
    assert created.status_code == 201, created.text
    again = await client.post("/api/admin/tokens/grants", json=body, headers=auth())
    assert (again.status_code, again.json()["code"]) == (409, "grant_active_exists")
    past = {**body, "expires_at": "2020-01-01T00:00:00Z"}
    late = await client.post("/api/admin/tokens/grants", json=past, headers=auth())
    assert (late.status_code, late.json()["code"]) == (422, "grant_expiry_out_of_range")
    balance = (await client.get("/api/tokens/balance", headers=auth(Role.USER))).json()
    assert balance["mentor"]["promo"] == 2 and balance["mentor"]["total"] == 2
    grant_id = created.json()["id"]
    revoked = await client.delete(f"/api/admin/tokens/grants/{grant_id}", headers=auth())
    assert (revoked.status_code, revoked.json()["status"]) == (200, "REVOKED")
    twice = await client.delete(f"/api/admin/tokens/grants/{grant_id}", headers=auth())
    assert twice.status_code == 409
    history = await client.get("/api/tokens/usage-history?page_size=1", headers=auth(Role.USER))
    assert history.status_code == 200
    page = history.json()
    assert (page["total"], page["page_size"], len(page["items"])) == (2, 1, 1)
    assert page["items"][0]["usage_type"] == "admin_adjustment"


async def test_adjust_deduct_and_the_ledger_for_finance(
    client: Client, auth: Auth, accounts: dict[Role, User]
) -> None:
    student = accounts[Role.USER]
    plus = {
        "user_id": str(student.id),
        "token_delta": 3,
        "reason": "goodwill",
        "idempotency_key": "a1",
    }
    done = await client.post("/api/admin/tokens/adjust", json=plus, headers=auth())
    assert done.status_code == 200 and done.json()["applied"] is True
    replay = await client.post("/api/admin/tokens/adjust", json=plus, headers=auth())
    assert replay.json() == {"applied": False, "rows": []}
    debit = {
        "user_id": str(student.id),
        "token_count": 5,
        "reason": "no-show",
        "idempotency_key": "d",
    }
    refused = await client.post("/api/tokens/deduct", json=debit, headers=auth())
    assert (refused.status_code, refused.json()["code"]) == (402, "insufficient_tokens")
    assert (
        await client.post("/api/tokens/deduct", json=debit, headers=auth(Role.USER))
    ).status_code == 403
    debit["token_count"] = 2
    taken = await client.post("/api/tokens/deduct", json=debit, headers=auth())
    assert taken.status_code == 200
    assert [(r["usage_type"], r["balance_after"]) for r in taken.json()["rows"]] == [("penalty", 1)]
    ledger = await client.get(
        f"/api/admin/tokens/ledger?user_id={student.id}", headers=auth(Role.FINANCE)
    )
    assert ledger.status_code == 200 and ledger.json()["total"] == 2
    missing = await client.get(f"/api/admin/tokens/ledger?user_id={uuid.uuid4()}", headers=auth())
    assert (missing.status_code, missing.json()["code"]) == (404, "user_not_found")
    denied = await client.get(
        f"/api/admin/tokens/ledger?user_id={student.id}", headers=auth(Role.USER)
    )
    assert denied.status_code == 403


async def test_governance_routes_are_404_while_the_flag_is_off(client: Client, auth: Auth) -> None:
    body = {"batch_id": str(uuid.uuid4()), "tokens_requested": 2, "reason": "exam preparation"}
    answers = [
        await client.post("/api/tokens/allotment-requests", json=body, headers=auth(Role.USER)),
        await client.get("/api/tokens/allotment-requests/mine", headers=auth(Role.USER)),
        await client.post(
            f"/api/tokens/allotment-requests/{uuid.uuid4()}/withdraw", headers=auth(Role.USER)
        ),
        await client.get("/api/batch-lead/token-requests", headers=auth(Role.BATCH_LEAD)),
        await client.post(f"/api/batch-lead/token-requests/{uuid.uuid4()}/approve", headers=auth()),
        await client.post(
            f"/api/batch-lead/token-requests/{uuid.uuid4()}/reject",
            json={"note": "no"},
            headers=auth(),
        ),
    ]
    assert [(a.status_code, a.json()["code"]) for a in answers] == [(404, "governance_off")] * 6


async def test_a_lead_approves_a_request_of_their_batch(
    client: Client, auth: Auth, accounts: dict[Role, User], sqlite_container: Any
) -> None:
    batches = FakeBatches()
    allotments = sqlite_container.tokens.wallet.allotments
    allotments.batches, allotments.enabled = batches, True
    student, lead = accounts[Role.USER], accounts[Role.BATCH_LEAD]
    other_lead = await add_user(sqlite_container, Role.BATCH_LEAD)
    batch = uuid.uuid4()
    batches.leads[batch] = lead.id
    body = {"batch_id": str(batch), "tokens_requested": 3, "reason": "exam preparation"}
    outside = await client.post(
        "/api/tokens/allotment-requests", json=body, headers=auth(Role.USER)
    )
    assert (outside.status_code, outside.json()["code"]) == (403, "not_in_batch")
    batches.members.add((student.id, batch))
    created = await client.post(
        "/api/tokens/allotment-requests", json=body, headers=auth(Role.USER)
    )
    assert created.status_code == 201, created.text
    request_id = created.json()["id"]
    listed = await client.get("/api/batch-lead/token-requests", headers=auth(Role.BATCH_LEAD))
    assert [r["id"] for r in listed.json()["items"]] == [request_id]
    foreign = await client.post(
        f"/api/batch-lead/token-requests/{request_id}/approve",
        headers=auth(user=other_lead),
    )
    assert (foreign.status_code, foreign.json()["code"]) == (403, "not_batch_lead")
    approved = await client.post(
        f"/api/batch-lead/token-requests/{request_id}/approve", headers=auth(Role.BATCH_LEAD)
    )
    assert (approved.status_code, approved.json()["status"]) == (200, "APPROVED")
    second = await client.post(
        f"/api/batch-lead/token-requests/{request_id}/reject",
        json={"note": "late"},
        headers=auth(Role.BATCH_LEAD),
    )
    assert (second.status_code, second.json()["code"]) == (409, "request_not_pending")
    balance = (await client.get("/api/tokens/balance", headers=auth(Role.USER))).json()
    assert balance["mentor"]["total"] == 3
