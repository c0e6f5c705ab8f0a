"""Discount requests and pipeline costs over HTTP. Until the LMS exists no batch has a fee, so
a request names no batch (404); the cost ledger answers 201 for a new call and 200 for a
replay."""

from __future__ import annotations

import uuid
from typing import Any

from litestar.testing import AsyncTestClient

from mas.core.identity.model import User
from mas.core.identity.policy import Role
from tests.http.conftest import Auth

Client = AsyncTestClient[Any]


async def test_requests_need_a_batch_with_a_fee(
    client: Client, auth: Auth, accounts: dict[Role, User]
) -> None:
    body = {
        "student_email": "asha@example.com",
        "batch_id": str(uuid.uuid4()),
        "requested_price_paise": 4_000_000,
        "reason": "scholarship for a strong candidate",
    }
    answer = await client.post("/api/sales/discount-requests", json=body, headers=auth(Role.SALES))
    assert (answer.status_code, answer.json()["code"]) == (404, "batch_not_found"), answer.text
    short = await client.post(
        "/api/sales/discount-requests", json={**body, "reason": "short"}, headers=auth(Role.SALES)
    )
    assert short.status_code == 422 and "reason" in short.text
    price = await client.get(
        f"/api/discounts/effective-price?batchId={body['batch_id']}&email=asha@example.com",
        headers=auth(Role.SALES),
    )
    assert price.status_code == 404
    listed = await client.get("/api/sales/discount-requests", headers=auth(Role.SALES))
    assert (listed.status_code, listed.json()["total"]) == (200, 0)
    queue = await client.get("/api/admin/discount-requests?status=PENDING", headers=auth())
    assert queue.status_code == 200
    missing = await client.post(
        f"/api/admin/discount-requests/{uuid.uuid4()}/approve", json={}, headers=auth()
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "discount_not_found")


async def test_costs_are_recorded_once_and_summed(
    client: Client, auth: Auth, accounts: dict[Role, User]
) -> None:
    job = str(uuid.uuid4())
    body = {
        "job_id": job,
        "stage": "AI_CALL",
        "provider": "EXOTEL",
        "units": 90,
        "unit_type": "SECONDS",
        "cost_millipaise": 135_000,
        "idempotency_key": "exotel-call-1",
        "occurred_at": "2026-12-01T09:00:00Z",
    }
    first = await client.post("/api/admin/pipeline-costs", json=body, headers=auth())
    assert first.status_code == 201, first.text
    again = await client.post("/api/admin/pipeline-costs", json=body, headers=auth())
    assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])
    summary = await client.get(
        "/api/admin/pipeline-costs/summary?from=2026-12-01&to=2026-12-31&groupBy=job",
        headers=auth(),
    )
    assert summary.status_code == 200, summary.text
    assert summary.json()["groups"] == [{"key": job, "entries": 1, "cost_millipaise": 135_000}]
    backwards = await client.get(
        "/api/admin/pipeline-costs/summary?from=2026-12-31&to=2026-12-01&groupBy=job",
        headers=auth(),
    )
    assert (backwards.status_code, backwards.json()["code"]) == (422, "range_out_of_bounds")
    admin_view = await client.get(f"/api/recruitment/jobs/{job}/pipeline-costs", headers=auth())
    assert admin_view.json()["total_millipaise"] == 135_000
    hr_view = await client.get(
        f"/api/recruitment/jobs/{job}/pipeline-costs", headers=auth(Role.EXTERNAL_HR)
    )
    assert (hr_view.status_code, hr_view.json()["code"]) == (404, "job_not_found")
