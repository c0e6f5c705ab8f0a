"""Enrolment, scans, the enrollment views, the counters and the dry run over HTTP
(``/api/admin/workflows/…``): ADMIN only (SALES_HEAD 403, acceptance 12), documented errors."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from mas.core.identity.policy import Role
from mas.core.workflow.definitions.model import SegmentFilter
from mas.core.workflow.model import TriggerType
from tests.http.conftest import Auth
from tests.integration.workflow_world import add_leads, canvas, make_workflow

BASE = "/api/admin/workflows"
SMS = {"id": "s", "type": "send_sms", "data": {"body": "Hi {{lead.first_name}}"}}
WAIT = {"id": "w", "type": "wait", "data": {"amount": 2, "unit": "days"}}


async def test_enrol_by_ids_and_read_what_happened(
    client: AsyncTestClient[Any], auth: Auth, sqlite_container: Any
) -> None:
    c = sqlite_container
    workflow = await make_workflow(c, TriggerType.MANUAL, graph=canvas(WAIT))
    leads = await add_leads(c, 3)
    body = {"lead_ids": [str(lead) for lead in [*leads, uuid.uuid4()]]}
    enrolled = await client.post(f"{BASE}/{workflow.id}/enroll", json=body, headers=auth())
    assert enrolled.status_code == 200, enrolled.text
    assert enrolled.json() == {
        "enrolled": 3,
        "skipped_already_enrolled": 0,
        "skipped_policy": 0,
        "skipped_exit_status": 0,
        "not_found": 1,
    }
    again = await client.post(f"{BASE}/{workflow.id}/enroll", json=body, headers=auth())
    assert again.json()["skipped_already_enrolled"] == 3

    listed = await client.get(
        f"{BASE}/{workflow.id}/enrollments",
        params={"lead_id": str(leads[0]), "page_size": 5},
        headers=auth(),
    )
    assert listed.status_code == 200, listed.text
    (item,) = listed.json()["items"]
    assert (item["raw_lead_id"], item["version"]) == (str(leads[0]), 1)

    detail = await client.get(f"{BASE}/enrollments/{item['id']}", headers=auth())
    assert detail.status_code == 200, detail.text
    assert detail.json()["enrollment"]["id"] == item["id"]
    assert {"node_runs", "path"} <= set(detail.json())

    stats = await client.get(f"{BASE}/{workflow.id}/stats", headers=auth())
    assert stats.status_code == 200, stats.text
    assert stats.json()["enrolled"] == 3


async def test_enrol_refusals(
    client: AsyncTestClient[Any], auth: Auth, sqlite_container: Any
) -> None:
    c = sqlite_container
    draft = await make_workflow(c, TriggerType.MANUAL, enable=False)
    lead = str((await add_leads(c, 1))[0])
    refused = await client.post(
        f"{BASE}/{draft.id}/enroll", json={"lead_ids": [lead]}, headers=auth()
    )
    assert (refused.status_code, refused.json()["code"]) == (409, "illegal_transition")
    both = await client.post(
        f"{BASE}/{draft.id}/enroll", json={"lead_ids": [lead], "filter": {}}, headers=auth()
    )
    assert (both.status_code, both.json()["code"]) == (422, "enroll_target")
    neither = await client.post(f"{BASE}/{draft.id}/enroll", json={}, headers=auth())
    assert neither.status_code == 422
    too_many = {"lead_ids": [str(uuid.uuid4()) for _ in range(5001)]}
    assert (
        await client.post(f"{BASE}/{draft.id}/enroll", json=too_many, headers=auth())
    ).status_code == 422
    missing = await client.post(
        f"{BASE}/{uuid.uuid4()}/enroll", json={"lead_ids": [lead]}, headers=auth()
    )
    assert missing.status_code == 404


async def test_run_scan(client: AsyncTestClient[Any], auth: Auth, sqlite_container: Any) -> None:
    c = sqlite_container
    await add_leads(c, 4, status="CONTACTED")
    scan = await make_workflow(c, flt=SegmentFilter(statuses=["CONTACTED"]), graph=canvas(WAIT))
    ran = await client.post(f"{BASE}/{scan.id}/run-scan", headers=auth())
    assert ran.status_code == 200, ran.text
    assert (ran.json()["enrolled"], ran.json()["capped"]) == (4, False)
    manual = await make_workflow(c, TriggerType.MANUAL)
    refused = await client.post(f"{BASE}/{manual.id}/run-scan", headers=auth())
    assert refused.status_code == 409
    assert (await client.post(f"{BASE}/{uuid.uuid4()}/run-scan", headers=auth())).status_code == 404


async def test_the_dry_run(client: AsyncTestClient[Any], auth: Auth, sqlite_container: Any) -> None:
    c = sqlite_container
    workflow = await make_workflow(c, TriggerType.MANUAL, graph=canvas(WAIT, SMS))
    (lead,) = await add_leads(c, 1, name="Asha Rao")
    ran = await client.post(
        f"{BASE}/{workflow.id}/test", json={"lead_id": str(lead)}, headers=auth()
    )
    assert ran.status_code == 200, ran.text
    assert ran.json()["path"] == ["w", "s"]
    assert ran.json()["steps"][1]["message"]["body"] == "Hi Asha"
    unknown = await client.post(
        f"{BASE}/{workflow.id}/test", json={"lead_id": str(uuid.uuid4())}, headers=auth()
    )
    assert unknown.status_code == 404
    bad = await client.post(
        f"{BASE}/{workflow.id}/test",
        json={"lead_id": str(lead), "call_outcome": "MAYBE"},
        headers=auth(),
    )
    assert bad.status_code == 422


async def test_views_refuse_unknown_ids_and_bad_windows(
    client: AsyncTestClient[Any], auth: Auth, sqlite_container: Any
) -> None:
    workflow = await make_workflow(sqlite_container, TriggerType.MANUAL)
    assert (
        await client.get(f"{BASE}/enrollments/{uuid.uuid4()}", headers=auth())
    ).status_code == 404
    assert (await client.get(f"{BASE}/{uuid.uuid4()}/stats", headers=auth())).status_code == 404
    assert (
        await client.get(f"{BASE}/{uuid.uuid4()}/enrollments", headers=auth())
    ).status_code == 404
    bad = await client.get(
        f"{BASE}/{workflow.id}/enrollments",
        params={"started_from": "2026-12-01T00:00:00"},
        headers=auth(),
    )
    assert (bad.status_code, bad.json()["code"]) == (422, "bad_window")
    backwards = await client.get(
        f"{BASE}/{workflow.id}/enrollments",
        params={"started_from": "2026-12-02T00:00:00Z", "started_to": "2026-12-01T00:00:00Z"},
        headers=auth(),
    )
    assert backwards.status_code == 422


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/{id}/enroll", {"lead_ids": [str(uuid.uuid4())]}),
        ("POST", "/{id}/run-scan", None),
        ("GET", "/{id}/enrollments", None),
        ("GET", "/enrollments/{id}", None),
        ("GET", "/{id}/stats", None),
        ("POST", "/{id}/test", {"lead_id": str(uuid.uuid4())}),
    ],
)
async def test_a_sales_head_is_refused(
    client: AsyncTestClient[Any], auth: Auth, method: str, path: str, body: Any
) -> None:
    url = BASE + path.format(id=uuid.uuid4())
    answer = await client.request(method, url, json=body, headers=auth(Role.SALES_HEAD))
    assert answer.status_code == 403
