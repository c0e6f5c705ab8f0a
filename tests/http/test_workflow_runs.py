"""The engine's admin actions over HTTP: retry a FAILED enrollment (409 otherwise), cancel a
live one (409 once terminal), retry every FAILED enrollment of a workflow; 404 for unknown ids,
ADMIN only."""

from __future__ import annotations

import uuid
from typing import Any

from litestar.testing import AsyncTestClient

from mas.core.identity.policy import Role
from mas.core.workflow.runs.model import StepRef
from tests.http.conftest import Auth
from tests.workflow_world import World, line

BASE = "/api/admin/workflows"
# NEW → QUALIFIED is not a legal move: the node fails for good on every attempt.
ILLEGAL = line(("u", "update_lead", {"set_status": "QUALIFIED"}))


async def failed_enrollment(world: World) -> tuple[uuid.UUID, uuid.UUID]:
    lead_id = await world.lead()
    workflow_id = await world.workflow(ILLEGAL)
    enrollment_id = await world.enroll(workflow_id, lead_id, "u")
    await world.engine.step(StepRef(enrollment_id, "u", 0))
    assert (await world.enrollment(enrollment_id)).status == "FAILED"
    return workflow_id, enrollment_id


async def test_retry_cancel_and_bulk_retry(
    client: AsyncTestClient[Any], auth: Auth, sqlite_container: Any
) -> None:
    world = World(sqlite_container)
    workflow_id, enrollment_id = await failed_enrollment(world)

    retried = await client.post(f"{BASE}/enrollments/{enrollment_id}/retry", headers=auth())
    assert retried.status_code == 200, retried.text
    assert (retried.json()["attempt"], retried.json()["status"]) == (2, "FAILED")

    bulk = await client.post(f"{BASE}/{workflow_id}/retry-failed", headers=auth())
    assert (bulk.status_code, bulk.json()) == (200, {"retried": 1})
    runs = await world.runs(enrollment_id)
    assert [r.attempt for r in runs] == [1, 2, 3]

    cancelled = await client.post(f"{BASE}/enrollments/{enrollment_id}/cancel", headers=auth())
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["status"], cancelled.json()["exit_reason"]) == (
        "CANCELLED",
        "cancelled_by_admin",
    )
    again = await client.post(f"{BASE}/enrollments/{enrollment_id}/cancel", headers=auth())
    assert (again.status_code, again.json()["code"]) == (409, "illegal_transition")
    retry_cancelled = await client.post(f"{BASE}/enrollments/{enrollment_id}/retry", headers=auth())
    assert (retry_cancelled.status_code, retry_cancelled.json()["code"]) == (
        409,
        "illegal_transition",
    )
    none = await client.post(f"{BASE}/{workflow_id}/retry-failed", headers=auth())
    assert none.json() == {"retried": 0}


async def test_unknown_ids_are_404_and_others_are_403(
    client: AsyncTestClient[Any], auth: Auth
) -> None:
    missing = uuid.uuid4()
    for path in (
        f"{BASE}/enrollments/{missing}/retry",
        f"{BASE}/enrollments/{missing}/cancel",
        f"{BASE}/{missing}/retry-failed",
    ):
        answer = await client.post(path, headers=auth())
        assert answer.status_code == 404, (path, answer.text)
        assert (await client.post(path, headers=auth(Role.SALES_HEAD))).status_code == 403
        assert (await client.post(path)).status_code == 401
    bad = await client.post(f"{BASE}/enrollments/not-a-uuid/retry", headers=auth())
    assert bad.status_code in (404, 422)
