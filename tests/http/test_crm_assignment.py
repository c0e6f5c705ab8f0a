"""Assignment through HTTP: the acceptance checks of the spec (1-3, 6, 7, 10, 15) and the
errors a client sees."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import update

from mas.adapters.db.crm.tables import BulkAssignmentRequestRow
from mas.core.crm.targets_model import local_today
from mas.core.identity.model import AuthMethod, User
from mas.core.identity.policy import Platform, Role
from mas.core.platform.paging import PageRequest
from tests.http.conftest import Auth
from tests.integration.crm_fixtures import (
    Floor,
    add_activity,
    add_floor,
    add_leads,
    count_assignments,
    lead_rows,
    set_lead,
)

Client = AsyncTestClient[Any]


def bulk_body(floor: Floor, leads: list[uuid.UUID], **extra: Any) -> dict[str, Any]:
    return {
        "slot": "FIRST_LINE",
        "strategy": "EVEN_SPLIT",
        "lead_ids": [str(i) for i in leads],
        "assignee_ids": [str(u.id) for u in floor.telecallers],
        "reason": "monday intake",
        **extra,
    }


async def file_pending(
    client: Client, auth: Auth, floor: Floor, c: Any, headers: dict[str, str] | None = None
) -> tuple[str, list[uuid.UUID]]:
    leads = await add_leads(c, floor.head.id, 100)
    response = await client.post(
        "/api/crm/assignments/bulk",
        json=bulk_body(floor, leads),
        headers=headers or auth(user=floor.head),
    )
    assert response.status_code == 202, response.text
    assert response.json()["request"]["status"] == "PENDING"
    return response.json()["request"]["id"], leads


# --- checks 1 and 2 ----------------------------------------------------------------------------


async def test_check_1_ten_leads_below_the_threshold_apply_at_once(
    client: Client, auth: Auth, sqlite_container: Any
) -> None:
    c = sqlite_container
    floor = await add_floor(c, "North")
    leads = await add_leads(c, floor.head.id, 10)
    response = await client.post(
        "/api/crm/assignments/bulk", json=bulk_body(floor, leads), headers=auth(user=floor.head)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["applied"] is True
    assert body["request"]["status"] == "APPLIED"
    assert body["request"]["applied_count"] == 10
    assert await count_assignments(c, method="BULK") == 10
    rows = await lead_rows(c, leads)
    assert all(r.assigned_to in {u.id for u in floor.telecallers} for r in rows.values())


async def test_check_2_a_hundred_leads_wait_for_an_admin(
    client: Client, auth: Auth, sqlite_container: Any
) -> None:
    c = sqlite_container
    floor = await add_floor(c, "North")
    request_id, leads = await file_pending(client, auth, floor, c)
    rows = await lead_rows(c, leads)
    assert all(r.assigned_to is None for r in rows.values()), "no lead changes before approval"
    assert await count_assignments(c) == 0

    detail = await client.get(
        f"/api/crm/assignment-requests/{request_id}", headers=auth(user=floor.head)
    )
    assert detail.status_code == 200
    assert sorted(s["lead_count"] for s in detail.json()["distribution"]) == [50, 50]
    listed = await client.get(
        "/api/crm/assignment-requests?status=PENDING", headers=auth(user=floor.head)
    )
    assert [r["id"] for r in listed.json()["items"]] == [request_id]

    approved = await client.post(
        f"/api/crm/assignment-requests/{request_id}/approve",
        json={"decision_note": "fine"},
        headers=auth(Role.ADMIN),
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "APPLIED"
    assert await count_assignments(c, method="BULK") == 100
    admins = await c.platform.delivery.mailbox(None, None, PageRequest(1, 100))
    assert any(m.template == "crm.request_filed" for m in admins.items)


# --- check 3 -----------------------------------------------------------------------------------


async def test_check_3_no_approving_your_own_request_nor_a_rejected_one(
    client: Client, auth: Auth, accounts: dict[Role, User], sqlite_container: Any
) -> None:
    c = sqlite_container
    floor = await add_floor(c, "North")
    admin = accounts[Role.ADMIN]
    # The admin acts as the head (impersonation) and files a request that needs approval.
    as_head = c.identity.issuer.access_token(
        floor.head, Platform.MY_ANALYTICS_SCHOOL, AuthMethod.IMPERSONATION, None, actor=admin.id
    )
    request_id, _ = await file_pending(
        client, auth, floor, c, headers={"Authorization": f"Bearer {as_head}"}
    )
    own = await client.post(
        f"/api/crm/assignment-requests/{request_id}/approve", headers=auth(Role.ADMIN)
    )
    assert own.status_code == 403 and own.json()["code"] == "own_request"

    other_admin = await client.post(
        f"/api/crm/assignment-requests/{request_id}/reject",
        json={"decision_note": "split it into smaller batches"},
        headers=auth(Role.SUPERADMIN),
    )
    assert other_admin.status_code == 200 and other_admin.json()["status"] == "REJECTED"
    late = await client.post(
        f"/api/crm/assignment-requests/{request_id}/approve", headers=auth(Role.SUPERADMIN)
    )
    assert late.status_code == 409
    assert "REJECTED" in late.json()["detail"]


async def test_reject_needs_a_note_and_cancel_is_for_pending_requests(
    client: Client, auth: Auth, sqlite_container: Any
) -> None:
    c = sqlite_container
    floor = await add_floor(c, "North")
    request_id, _ = await file_pending(client, auth, floor, c)
    blank = await client.post(
        f"/api/crm/assignment-requests/{request_id}/reject",
        json={"decision_note": "   "},
        headers=auth(Role.ADMIN),
    )
    assert blank.status_code == 422
    assert blank.json()["errors"][0]["field"] == "decision_note"
    cancelled = await client.post(
        f"/api/crm/assignment-requests/{request_id}/cancel", headers=auth(user=floor.head)
    )
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "CANCELLED"
    again = await client.post(
        f"/api/crm/assignment-requests/{request_id}/cancel", headers=auth(user=floor.head)
    )
    assert again.status_code == 409


# --- check 6: isolation ------------------------------------------------------------------------


async def test_check_6_a_head_never_reaches_another_pool(
    client: Client, auth: Auth, sqlite_container: Any
) -> None:
    c = sqlite_container
    mine = await add_floor(c, "North")
    theirs = await add_floor(c, "South")
    their_leads = await add_leads(c, theirs.head.id, 3)
    their_request, _ = await file_pending(client, auth, theirs, c)
    me = auth(user=mine.head)
    south = str(theirs.head.id)

    requests = await client.get(f"/api/crm/assignment-requests?pool_head_id={south}", headers=me)
    assert requests.status_code == 200 and requests.json()["items"] == []
    assert (
        await client.get(f"/api/crm/assignment-requests/{their_request}", headers=me)
    ).status_code == 404
    team = await client.get(f"/api/crm/team?sales_head_id={south}", headers=me)
    assert team.status_code == 200 and team.json()["items"] == []
    board = await client.get(f"/api/crm/targets/leaderboard?sales_head_id={south}", headers=me)
    assert board.status_code == 200 and board.json()["items"] == []

    single = await client.post(
        f"/api/crm/leads/{their_leads[0]}/assign",
        json={"slot": "FIRST_LINE", "assignee_id": str(mine.telecallers[0].id)},
        headers=me,
    )
    assert single.status_code == 404
    bulk = await client.post(
        "/api/crm/assignments/bulk", json=bulk_body(mine, their_leads), headers=me
    )
    assert bulk.status_code == 422
    assert bulk.json()["code"] == "leads_outside_pool"
    assert all(str(i) in bulk.json()["errors"][0]["message"] for i in their_leads)
    wider = await client.post(
        "/api/crm/assignments/bulk",
        json=bulk_body(mine, their_leads, pool_head_id=south),
        headers=me,
    )
    assert wider.status_code == 403
    own_team = await client.get("/api/crm/team", headers=me)
    assert {m["user_id"] for m in own_team.json()["items"]} == {str(u) for u in mine.members}


# --- check 7: page flags -----------------------------------------------------------------------


async def test_check_7_targets_flag_off_is_403_page_disabled(
    client: Client, auth: Auth, sqlite_container: Any
) -> None:
    c = sqlite_container
    floor = await add_floor(c, "North", flags={"assign": True, "bulk_assign": True})
    today = datetime.now(UTC).date().isoformat()
    body = {
        "targets": [
            {"salesperson_id": str(floor.telecallers[0].id), "date": today, "calls_target": 40}
        ]
    }
    response = await client.put("/api/crm/targets", json=body, headers=auth(user=floor.head))
    assert response.status_code == 403
    assert response.json()["code"] == "page_disabled"

    switched_on = await client.patch(
        f"/api/admin/crm/sales-heads/{floor.head.id}",
        json={"page_flags": {"targets": True}},
        headers=auth(Role.ADMIN),
    )
    assert switched_on.json()["page_flags"] == {
        "assign": True,
        "bulk_assign": True,
        "targets": True,
    }
    saved = await client.put("/api/crm/targets", json=body, headers=auth(user=floor.head))
    assert saved.status_code == 200, saved.text
    assert saved.json()[0]["calls_target"] == 40

    # The identity permission is the other switch: without it the guard refuses first.
    async with c.uow() as uow:
        await uow.users.set_permissions(floor.head.id, ["crm.assignment"], floor.head.id)
        await uow.commit()
    await c.identity.access.forget(floor.head.id)
    refused = await client.put("/api/crm/targets", json=body, headers=auth(user=floor.head))
    assert refused.status_code == 403 and refused.json()["code"] == "page_forbidden"


async def test_targets_are_checked_and_read_back_with_live_actuals(
    client: Client, auth: Auth, sqlite_container: Any
) -> None:
    c = sqlite_container
    floor = await add_floor(c, "North")
    me = floor.telecallers[0]
    today = local_today(datetime.now(UTC), "Asia/Kolkata")
    row = {"salesperson_id": str(me.id), "date": today.isoformat(), "calls_target": 2}
    bad = await client.put(
        "/api/crm/targets",
        json={
            "targets": [
                {**row, "calls_target": -1},
                {**row, "date": (today + timedelta(days=40)).isoformat()},
            ]
        },
        headers=auth(user=floor.head),
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "targets[0].calls_target"
    late = await client.put(
        "/api/crm/targets",
        json={"targets": [{**row, "date": (today + timedelta(days=40)).isoformat()}]},
        headers=auth(user=floor.head),
    )
    assert late.status_code == 422 and late.json()["errors"][0]["field"] == "targets[0].date"
    twice = await client.put(
        "/api/crm/targets", json={"targets": [row, row]}, headers=auth(user=floor.head)
    )
    assert twice.status_code == 422 and twice.json()["errors"][0]["field"] == "targets[1]"
    stranger = await add_floor(c, "South")
    outside = await client.put(
        "/api/crm/targets",
        json={"targets": [{**row, "salesperson_id": str(stranger.telecallers[0].id)}]},
        headers=auth(user=floor.head),
    )
    assert outside.status_code == 403 and outside.json()["code"] == "not_in_team"
    assert (
        await client.put("/api/crm/targets", json={"targets": [row]}, headers=auth(user=floor.head))
    ).status_code == 200

    lead = (await add_leads(c, floor.head.id, 1, assigned_to=me.id))[0]
    await add_activity(c, lead, "CALL", me.id, datetime.now(UTC))
    mine = await client.get("/api/sales/crm/targets/today", headers=auth(user=me))
    assert mine.status_code == 200, mine.text
    assert mine.json()["target"]["calls_target"] == 2
    assert mine.json()["actual"]["calls_done"] == 1
    sheet = await client.get("/api/crm/targets", headers=auth(user=floor.head))
    assert sheet.json()["total"] == 1
    assert sheet.json()["items"][0]["live"] is True
    assert sheet.json()["items"][0]["actual"]["calls_done"] == 1
    too_long = await client.get(
        "/api/crm/targets?from=2025-01-01&to=2025-06-01", headers=auth(user=floor.head)
    )
    assert too_long.status_code == 422
    board = await client.get("/api/crm/targets/leaderboard", headers=auth(user=floor.head))
    first = board.json()["items"][0]
    assert first["salesperson_id"] == str(me.id) and first["rank"] == 1


# --- check 10 ----------------------------------------------------------------------------------


async def test_check_10_only_an_admin_transfers_ownership(
    client: Client, auth: Auth, sqlite_container: Any
) -> None:
    c = sqlite_container
    north = await add_floor(c, "North")
    south = await add_floor(c, "South")
    leads = await add_leads(c, north.head.id, 2, assigned_to=north.telecallers[0].id)
    body = {
        "to_head_id": str(south.head.id),
        "lead_ids": [str(i) for i in leads],
        "reason": "rebalancing pools",
    }
    refused = await client.post(
        "/api/admin/crm/ownership-transfers", json=body, headers=auth(user=north.head)
    )
    assert refused.status_code == 403
    same = await client.post(
        "/api/admin/crm/ownership-transfers",
        json={**body, "from_head_id": str(south.head.id)},
        headers=auth(Role.ADMIN),
    )
    assert same.status_code == 422
    done = await client.post("/api/admin/crm/ownership-transfers", json=body, headers=auth())
    assert done.status_code == 201, done.text
    rows = await lead_rows(c, leads)
    assert {(r.owning_sales_head_id, r.assigned_to) for r in rows.values()} == {
        (south.head.id, None)
    }


# --- check 15 ----------------------------------------------------------------------------------


async def test_check_15_a_request_pending_72_hours_expires_with_one_email(
    client: Client, auth: Auth, sqlite_container: Any
) -> None:
    c = sqlite_container
    floor = await add_floor(c, "North")
    request_id, _ = await file_pending(client, auth, floor, c)
    async with c.uow() as uow:
        await uow.session.execute(
            update(BulkAssignmentRequestRow)
            .where(BulkAssignmentRequestRow.id == uuid.UUID(request_id))
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        await uow.commit()
    await c.jobs.enqueue("crm.expire_requests", key="hour-1")
    await c.jobs.enqueue("crm.expire_requests", key="hour-2")
    detail = await client.get(
        f"/api/crm/assignment-requests/{request_id}", headers=auth(user=floor.head)
    )
    assert detail.json()["request"]["status"] == "EXPIRED"
    mails = (await c.platform.delivery.mailbox(None, floor.head.email, PageRequest())).items
    assert [m.template for m in mails] == ["crm.request_expired"]
    late = await client.post(
        f"/api/crm/assignment-requests/{request_id}/approve", headers=auth(Role.ADMIN)
    )
    assert late.status_code == 409


# --- one lead, profiles, teams, config ---------------------------------------------------------


async def test_single_assignment_rules(client: Client, auth: Auth, sqlite_container: Any) -> None:
    c = sqlite_container
    floor = await add_floor(c, "North")
    lead = (await add_leads(c, floor.head.id, 1))[0]
    url = f"/api/crm/leads/{lead}/assign"
    head = auth(user=floor.head)
    caller_id, counsellor_id = floor.telecallers[0].id, floor.counsellors[0].id

    wrong = await client.post(
        url, json={"slot": "SECOND_LINE", "assignee_id": str(caller_id)}, headers=head
    )
    assert wrong.status_code == 422 and wrong.json()["code"] == "wrong_member_role"
    outsider = await client.post(
        url, json={"slot": "FIRST_LINE", "assignee_id": str(uuid.uuid4())}, headers=head
    )
    assert outsider.status_code == 422 and outsider.json()["code"] == "not_in_team"
    assert outsider.json()["errors"][0]["field"] == "assignee_id"
    unknown = await client.post(
        url, json={"slot": "FIRST_LINE", "assignee": str(caller_id)}, headers=head
    )
    assert unknown.status_code == 422
    ok = await client.post(
        url, json={"slot": "FIRST_LINE", "assignee_id": str(caller_id)}, headers=head
    )
    assert ok.status_code == 200 and ok.json()["changed"] is True
    assert ok.json()["reason"] == "manual: assigned by North Head (SALES_HEAD)"
    second = await client.post(
        url, json={"slot": "SECOND_LINE", "assignee_id": str(counsellor_id)}, headers=head
    )
    assert second.status_code == 200
    mails = (
        await c.platform.delivery.mailbox(None, floor.telecallers[0].email, PageRequest())
    ).items
    assert [m.template for m in mails] == ["crm.leads_assigned"]

    await set_lead(c, lead, status="CONVERTED")
    converted = await client.post(
        url, json={"slot": "FIRST_LINE", "assignee_id": str(floor.telecallers[1].id)}, headers=head
    )
    assert converted.status_code == 409
    off = await client.post(
        f"/api/crm/leads/{lead}/unassign", json={"slot": "SECOND_LINE"}, headers=head
    )
    assert off.status_code == 200 and off.json()["previous_assignee_id"] == str(counsellor_id)
    rows = await lead_rows(c, [lead])
    assert (rows[lead].assigned_to, rows[lead].assigned_counsellor) == (caller_id, None)

    no_flag = await add_floor(c, "Quiet", flags={"targets": True})
    quiet_lead = (await add_leads(c, no_flag.head.id, 1))[0]
    disabled = await client.post(
        f"/api/crm/leads/{quiet_lead}/assign",
        json={"slot": "FIRST_LINE", "assignee_id": str(no_flag.telecallers[0].id)},
        headers=auth(user=no_flag.head),
    )
    assert disabled.status_code == 403 and disabled.json()["code"] == "page_disabled"


async def test_profiles_and_team_membership_by_an_admin(
    client: Client, auth: Auth, accounts: dict[Role, User]
) -> None:
    head, sales = accounts[Role.SALES_HEAD], accounts[Role.SALES]
    admin = auth(Role.ADMIN)
    not_a_head = await client.post(
        "/api/admin/crm/sales-heads",
        json={"user_id": str(sales.id), "display_name": "Nope"},
        headers=admin,
    )
    assert not_a_head.status_code == 422 and not_a_head.json()["errors"][0]["field"] == "user_id"
    bad_flag = await client.post(
        "/api/admin/crm/sales-heads",
        json={"user_id": str(head.id), "display_name": "H", "page_flags": {"rockets": True}},
        headers=admin,
    )
    assert bad_flag.status_code == 422
    created = await client.post(
        "/api/admin/crm/sales-heads",
        json={"user_id": str(head.id), "display_name": "Head pool", "page_flags": {"assign": True}},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    assert created.json()["bulk_approval_threshold"] is None
    twice = await client.post(
        "/api/admin/crm/sales-heads",
        json={"user_id": str(head.id), "display_name": "Again"},
        headers=admin,
    )
    assert twice.status_code == 409
    listed = await client.get("/api/admin/crm/sales-heads?page_size=1", headers=admin)
    assert listed.json()["total"] == 1 and listed.json()["page_size"] == 1
    assert [p["user_id"] for p in listed.json()["items"]] == [str(head.id)]

    member = await client.post(
        "/api/admin/crm/team-members",
        json={"sales_head_id": str(head.id), "user_id": str(sales.id), "member_role": "TELECALLER"},
        headers=admin,
    )
    assert member.status_code == 201, member.text
    again = await client.post(
        "/api/admin/crm/team-members",
        json={"sales_head_id": str(head.id), "user_id": str(sales.id), "member_role": "TELECALLER"},
        headers=admin,
    )
    assert again.status_code == 409 and again.json()["code"] == "already_in_team"
    changed = await client.patch(
        f"/api/admin/crm/team-members/{member.json()['id']}",
        json={"daily_capacity": 30, "available": False},
        headers=admin,
    )
    assert changed.json()["daily_capacity"] == 30 and changed.json()["available"] is False
    team = await client.get(f"/api/crm/team?sales_head_id={head.id}", headers=admin)
    assert [(m["user_id"], m["open_leads"]) for m in team.json()["items"]] == [(str(sales.id), 0)]
    left = await client.patch(
        f"/api/admin/crm/team-members/{member.json()['id']}",
        json={"active": False},
        headers=admin,
    )
    assert left.status_code == 200 and left.json()["active"] is False


async def test_the_threshold_is_a_system_config_value(
    client: Client, auth: Auth, sqlite_container: Any
) -> None:
    c = sqlite_container
    floor = await add_floor(c, "North")
    key = "/api/admin/system-config/crm.bulk_assign_threshold"
    read = await client.get(key, headers=auth(Role.ADMIN))
    assert read.json()["value"] == 25 and read.json()["is_default"] is True
    bad = await client.put(key, json={"value": 0}, headers=auth(Role.ADMIN))
    assert bad.status_code == 422
    assert (await client.put(key, json={"value": 5}, headers=auth(Role.ADMIN))).json()["value"] == 5
    unknown = await client.get("/api/admin/system-config/nope", headers=auth(Role.ADMIN))
    assert unknown.status_code == 404
    leads = await add_leads(c, floor.head.id, 10)
    response = await client.post(
        "/api/crm/assignments/bulk", json=bulk_body(floor, leads), headers=auth(user=floor.head)
    )
    assert response.status_code == 202, "10 leads are above the new threshold of 5"
    too_many = await client.post(
        "/api/crm/assignments/bulk",
        json=bulk_body(floor, [uuid.uuid4() for _ in range(10_001)]),
        headers=auth(user=floor.head),
    )
    assert too_many.status_code == 422 and too_many.json()["errors"][0]["field"] == "lead_ids"
