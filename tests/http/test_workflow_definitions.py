"""Workflow definitions over HTTP (workflow.md §7, §11 checks 1, 2, 12, 14): ADMIN only, the
draft saved with If-Match, 422 INVALID_GRAPH listing every offending node, archive cancelling
live enrollments."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import insert, select

from mas.adapters.db.crm.tables import RawLeadRow
from mas.adapters.db.workflow.runs_tables import workflow_enrollments as ENROLLMENTS
from mas.core.identity.model import User
from mas.core.identity.policy import Role
from mas.core.platform.ids import uuid7
from tests.http.conftest import Auth

Client = AsyncTestClient[Any]
BASE = "/api/admin/workflows"
GOOD = {
    "nodes": [
        {"id": "t", "type": "trigger", "position": {"x": 0, "y": 0}, "data": {}, "selected": True},
        {
            "id": "w",
            "type": "wait",
            "position": {"x": 0, "y": 100},
            "data": {"amount": 2, "unit": "days", "label": "two days"},
        },
        {
            "id": "s",
            "type": "send_sms",
            "position": {"x": 0, "y": 200},
            "data": {"body": "Hi {{lead.first_name}}"},
        },
    ],
    "edges": [
        {"id": "e1", "source": "t", "target": "w", "animated": True},
        {"id": "e2", "source": "w", "target": "s"},
    ],
    "viewport": {"x": 0, "y": 0, "zoom": 1},
}
BAD = {
    "nodes": [
        {"id": "t", "type": "trigger", "data": {}},
        {"id": "t2", "type": "trigger", "data": {}},
        {"id": "a", "type": "wait", "data": {"amount": 1, "unit": "hours"}},
        {"id": "b", "type": "wait", "data": {"amount": 1, "unit": "hours"}},
        {"id": "lost", "type": "end", "data": {}},
        {
            "id": "br",
            "type": "branch",
            "data": {"conditions": [{"field": "lead.status", "op": "eq", "value": "NEW"}]},
        },
    ],
    "edges": [
        {"id": "1", "source": "t", "target": "a"},
        {"id": "2", "source": "a", "target": "b"},
        {"id": "3", "source": "b", "target": "a"},
        {"id": "4", "source": "t2", "target": "br"},
        {"id": "5", "source": "br", "target": "lost", "sourceHandle": "yes"},
    ],
}


async def create(client: Client, auth: Auth, name: str = "Nurture", **body: Any) -> Any:
    answer = await client.post(
        BASE, json={"name": name, "trigger_type": "MANUAL", **body}, headers=auth()
    )
    assert answer.status_code == 201, answer.text
    return answer


async def test_sales_heads_and_salespeople_get_403_on_every_route(
    client: Client, auth: Auth, accounts: dict[Role, User]
) -> None:
    workflow_id = (await create(client, auth)).json()["id"]
    routes = [
        ("GET", BASE, None),
        ("POST", BASE, {"name": "x", "trigger_type": "MANUAL"}),
        ("GET", f"{BASE}/node-types", None),
        ("GET", f"{BASE}/{workflow_id}", None),
        ("PUT", f"{BASE}/{workflow_id}", {"description": "x"}),
        ("DELETE", f"{BASE}/{workflow_id}", None),
        ("POST", f"{BASE}/{workflow_id}/validate", None),
        ("POST", f"{BASE}/{workflow_id}/enable", None),
        ("POST", f"{BASE}/{workflow_id}/disable", None),
        ("GET", f"{BASE}/{workflow_id}/versions", None),
        ("GET", f"{BASE}/{workflow_id}/versions/1", None),
    ]
    for role in (Role.SALES_HEAD, Role.SALES, Role.USER, Role.FINANCE):
        for method, path, body in routes:
            headers = {**auth(role), "If-Match": "1"}
            answer = await client.request(method, path, json=body, headers=headers)
            assert answer.status_code == 403, (role, method, path, answer.text)
    for method, path, body in routes:
        answer = await client.request(method, path, json=body)
        assert answer.status_code == 401, (method, path)
    super_list = await client.get(BASE, headers=auth(Role.SUPERADMIN))
    assert super_list.status_code == 200
    assert (await client.get(f"{BASE}/{workflow_id}", headers=auth())).json()["workflow"][
        "status"
    ] == "DRAFT"


async def test_create_read_and_save_with_if_match(
    client: Client, auth: Auth, accounts: dict[Role, User]
) -> None:
    created = (await create(client, auth, draft_graph=GOOD)).json()
    assert created["status"] == "DRAFT"
    assert created["draft_graph"]["nodes"][0] == {
        "id": "t",
        "type": "trigger",
        "position": {"x": 0.0, "y": 0.0},
        "data": {},
    }
    assert "viewport" not in created["draft_graph"]
    taken = await client.post(
        BASE, json={"name": "Nurture", "trigger_type": "MANUAL"}, headers=auth()
    )
    assert (taken.status_code, taken.json()["code"]) == (409, "workflow_name_taken")
    path = f"{BASE}/{created['id']}"
    read = await client.get(path, headers=auth())
    assert read.status_code == 200
    etag = read.headers["etag"]
    assert read.json()["workflow"]["updated_at"] == created["updated_at"]
    saved = await client.put(
        path,
        json={"description": "two-day nudge"},
        headers={**auth(), "If-Match": created["updated_at"]},
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["description"] == "two-day nudge"
    stale = await client.put(
        path, json={"description": "mine"}, headers={**auth(), "If-Match": etag}
    )
    assert (stale.status_code, stale.json()["code"]) == (409, "workflow_stale")
    again = await client.put(
        path, json={"name": "Renamed"}, headers={**auth(), "If-Match": saved.headers["etag"]}
    )
    assert again.status_code == 200 and again.json()["name"] == "Renamed"
    missing = await client.put(path, json={}, headers=auth())
    assert missing.status_code == 422, missing.text
    assert [e["field"] for e in missing.json()["errors"]] == ["If-Match"]
    garbage = await client.put(path, json={}, headers={**auth(), "If-Match": "yesterday"})
    assert garbage.status_code == 422 and "If-Match" in garbage.text
    nobody = await client.put(
        f"{BASE}/{uuid.uuid4()}", json={}, headers={**auth(), "If-Match": etag}
    )
    assert (nobody.status_code, nobody.json()["code"]) == (404, "workflow_not_found")


async def test_a_draft_that_is_not_a_graph_is_422_and_not_saved(
    client: Client, auth: Auth, accounts: dict[Role, User]
) -> None:
    dangling = {"nodes": GOOD["nodes"], "edges": [{"id": "x", "source": "s", "target": "ghost"}]}
    answer = await client.post(
        BASE,
        json={"name": "Dangling", "trigger_type": "MANUAL", "draft_graph": dangling},
        headers=auth(),
    )
    assert answer.status_code == 422
    body = answer.json()
    assert body["code"] == "INVALID_GRAPH"
    assert body["issues"] == [
        {"node_id": "s", "code": "DANGLING_EDGE", "message": body["issues"][0]["message"]}
    ]
    assert (await client.get(BASE, headers=auth())).json()["total"] == 0


async def test_a_graph_over_512_kb_is_413(
    client: Client, auth: Auth, accounts: dict[Role, User]
) -> None:
    nodes = [
        {"id": f"n{i}", "type": "end", "data": {f"k{j}": "x" * 2000 for j in range(10)}}
        for i in range(30)
    ]
    answer = await client.post(
        BASE,
        json={"name": "Huge", "trigger_type": "MANUAL", "draft_graph": {"nodes": nodes}},
        headers=auth(),
    )
    assert (answer.status_code, answer.json()["code"]) == (413, "graph_too_large")


async def test_enable_lists_each_offending_node(
    client: Client, auth: Auth, accounts: dict[Role, User]
) -> None:
    workflow_id = (await create(client, auth, draft_graph=BAD)).json()["id"]
    report = await client.post(f"{BASE}/{workflow_id}/validate", headers=auth())
    assert report.status_code == 200 and report.json()["valid"] is False
    answer = await client.post(f"{BASE}/{workflow_id}/enable", headers=auth())
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["code"] == "INVALID_GRAPH"
    assert answer.headers["content-type"].startswith("application/problem+json")
    found = {(i["node_id"], i["code"]) for i in body["issues"]}
    assert found == {
        ("t", "MULTIPLE_TRIGGERS"),
        ("t2", "MULTIPLE_TRIGGERS"),
        ("a", "CYCLE"),
        ("b", "CYCLE"),
        ("br", "BRANCH_NEEDS_TWO_EDGES"),
    }
    assert found == {(i["node_id"], i["code"]) for i in report.json()["issues"]}
    assert {e["field"] for e in body["errors"]} == {"t", "t2", "a", "b", "br"}
    detail = (await client.get(f"{BASE}/{workflow_id}", headers=auth())).json()
    assert detail["workflow"]["status"] == "DRAFT" and detail["published"] is None
    unreachable = {
        "nodes": [*GOOD["nodes"], {"id": "lost", "type": "end", "data": {}}],
        "edges": GOOD["edges"],
    }
    put = await client.put(
        f"{BASE}/{workflow_id}",
        json={"draft_graph": unreachable},
        headers={**auth(), "If-Match": detail["workflow"]["updated_at"]},
    )
    assert put.status_code == 200, put.text
    answer = await client.post(f"{BASE}/{workflow_id}/enable", headers=auth())
    assert [(i["node_id"], i["code"]) for i in answer.json()["issues"]] == [("lost", "UNREACHABLE")]


async def test_enable_disable_versions_and_archive(
    client: Client, auth: Auth, accounts: dict[Role, User], sqlite_container: Any
) -> None:
    workflow_id = (await create(client, auth, draft_graph=GOOD)).json()["id"]
    path = f"{BASE}/{workflow_id}"
    disable = await client.post(f"{path}/disable", headers=auth())
    assert (disable.status_code, disable.json()["code"]) == (409, "illegal_transition")
    enabled = await client.post(f"{path}/enable", headers=auth())
    assert enabled.status_code == 200, enabled.text
    assert enabled.json()["workflow"]["status"] == "ACTIVE"
    assert enabled.json()["published"]["version"] == 1
    versions = await client.get(f"{path}/versions", headers=auth())
    assert [v["version"] for v in versions.json()["items"]] == [1]
    version = (await client.get(f"{path}/versions/1", headers=auth())).json()
    assert len(version["checksum"]) == 64 and version["graph"]["edges"][0]["sourceHandle"] is None
    assert (await client.get(f"{path}/versions/2", headers=auth())).json()["code"] == (
        "workflow_version_not_found"
    )
    assert (await client.post(f"{path}/disable", headers=auth())).json()["status"] == "PAUSED"
    assert (await client.post(f"{path}/enable", headers=auth())).json()["published"]["version"] == 1

    now = sqlite_container.clock.now()
    async with sqlite_container.uow() as uow:
        leads = [uuid7(), uuid7(), uuid7()]
        await uow.session.execute(
            insert(RawLeadRow),
            [
                {
                    "id": lead,
                    "name": "Lead",
                    "phone_e164": f"+9197000000{n:02d}",
                    "source": "MANUAL",
                    "status": "NEW",
                    "created_at": now,
                    "updated_at": now,
                }
                for n, lead in enumerate(leads)
            ],
        )
        await uow.session.execute(
            insert(ENROLLMENTS),
            [
                {
                    "id": uuid7(),
                    "workflow_id": uuid.UUID(workflow_id),
                    "version": 1,
                    "raw_lead_id": lead,
                    "status": status,
                    "current_node_id": "w",
                    "attempt": 1,
                    "enrolled_via": "MANUAL",
                    "context": {},
                    "started_at": now,
                    "updated_at": now,
                    "lock_version": 0,
                }
                for lead, status in zip(leads, ["ACTIVE", "WAITING", "COMPLETED"], strict=True)
            ],
        )
        await uow.commit()
    listed = (await client.get(BASE, headers=auth())).json()["items"][0]
    assert (listed["enrollments"]["ACTIVE"], listed["enrollments"]["WAITING"]) == (1, 1)
    archived = await client.delete(path, headers=auth())
    assert archived.status_code == 200, archived.text
    assert archived.json()["cancelled_enrollments"] == 2
    assert archived.json()["workflow"]["status"] == "ARCHIVED"
    async with sqlite_container.uow() as uow:
        statuses = (
            (
                await uow.session.execute(
                    select(ENROLLMENTS.c.status).where(
                        ENROLLMENTS.c.workflow_id == uuid.UUID(workflow_id)
                    )
                )
            )
            .scalars()
            .all()
        )
    assert sorted(statuses) == ["CANCELLED", "CANCELLED", "COMPLETED"]
    again = await client.delete(path, headers=auth())
    assert (again.status_code, again.json()["code"]) == (409, "workflow_archived")
    enable = await client.post(f"{path}/enable", headers=auth())
    assert (enable.status_code, enable.json()["code"]) == (409, "illegal_transition")
    put = await client.put(
        path, json={}, headers={**auth(), "If-Match": archived.json()["workflow"]["updated_at"]}
    )
    assert (put.status_code, put.json()["code"]) == (409, "workflow_archived")
    assert (await client.get(f"{BASE}?status=ARCHIVED", headers=auth())).json()["total"] == 1


async def test_node_types_palette(client: Client, auth: Auth, accounts: dict[Role, User]) -> None:
    answer = await client.get(f"{BASE}/node-types", headers=auth())
    assert answer.status_code == 200
    body = answer.json()
    types = {t["type"]: t for t in body["node_types"]}
    assert list(types) == [
        "trigger",
        "wait",
        "send_email",
        "send_whatsapp",
        "send_sms",
        "ai_call",
        "branch",
        "update_lead",
        "end",
    ]
    assert types["branch"]["handles"] == ["yes", "no"]
    schema = types["ai_call"]["data_schema"]
    ai = schema["$defs"]["AiCallData"]
    assert ai["properties"]["timeout_minutes"]["maximum"] == 1440
    assert ai["additionalProperties"] is False
    assert "{{lead.name}}" not in body["placeholders"] and "lead.name" in body["placeholders"]


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "trigger_type": "SEGMENT_SCAN", "trigger_config": {"interval_minutes": 5}},
        {"name": "x", "trigger_type": "LEAD_EVENT", "trigger_config": {}},
        {"name": "x", "trigger_type": "LEAD_EVENT", "trigger_config": {"events": ["lead.won"]}},
        {"name": "x", "trigger_type": "MANUAL", "send_window": {"tz": "Nowhere/Land"}},
        {"name": "x", "trigger_type": "MANUAL", "exit_on_statuses": ["converted"]},
        {"name": "x" * 151, "trigger_type": "MANUAL"},
        {"name": "x", "trigger_type": "MANUAL", "unknown": 1},
        {
            "name": "x",
            "trigger_type": "MANUAL",
            "draft_graph": {"nodes": [{"id": "t", "type": "trigger", "colour": 1}]},
        },
        {"name": "x", "trigger_type": "MANUAL", "send_window": {"start": "10:00", "end": "10:00"}},
    ],
)
async def test_bad_settings_are_422(
    client: Client, auth: Auth, accounts: dict[Role, User], body: dict[str, Any]
) -> None:
    answer = await client.post(BASE, json=body, headers=auth())
    assert answer.status_code == 422, answer.text
