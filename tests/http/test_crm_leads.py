"""Leads through the whole app: the acceptance checks of crm-leads.md §10 that live in this
slice (1-5, 9-12, 14, 15), optimistic locking, scope, export, the public form and the jobs."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import msgspec
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from mas.adapters.db.crm.tables import (
    CampaignLeadRow,
    LeadIntakeRow,
    RawLeadRow,
    SalesTeamMemberRow,
)
from mas.adapters.db.platform.tables import OutboxEventRow, OutboxMessageRow
from mas.core.crm.model import FollowUp, FollowUpChannel
from mas.core.crm.pages import SALES_HEAD_PAGES
from mas.core.identity.model import User
from mas.core.identity.policy import Role
from mas.core.platform.ids import uuid7
from tests.http.conftest import Auth, add_user, described_app
from tests.integration.crm_fixtures import add_profile

Client = AsyncTestClient[Any]


@pytest.fixture
async def team(sqlite_container: Any, accounts: dict[Role, User]) -> dict[str, User]:
    """The SALES account works for the SALES_HEAD account (who may open every CRM page, with
    every flag of its CRM profile on)."""
    c = sqlite_container
    head, sales = accounts[Role.SALES_HEAD], accounts[Role.SALES]
    async with c.uow() as uow:
        await uow.users.set_permissions(head.id, sorted(SALES_HEAD_PAGES), head.id)
        await uow.commit()
    await add_profile(c, head.id)
    async with c.sessions() as s:
        s.add(
            SalesTeamMemberRow(
                sales_head_id=head.id,
                user_id=sales.id,
                member_role="TELECALLER",
                joined_at=c.clock.now(),
            )
        )
        await s.commit()
    other = await add_user(c, Role.SALES)
    other_head = await add_user(c, Role.SALES_HEAD)
    async with c.uow() as uow:
        await uow.users.set_permissions(other_head.id, ["crm.leads"], other_head.id)
        await uow.commit()
    await add_profile(c, other_head.id, flags={"leads": True})
    return {"head": head, "sales": sales, "other": other, "other_head": other_head}


async def rows(c: Any, model: Any, *where: Any) -> int:
    async with c.sessions() as s:
        return int(
            (await s.execute(select(func.count()).select_from(model).where(*where))).scalar()
        )


async def add(client: Client, headers: dict[str, str], **body: Any) -> Any:
    path = "/api/crm/leads" if "owning_sales_head_id" in body or body.pop("pool", False) else None
    response = await client.post(path or "/api/sales/crm/leads", json=body, headers=headers)
    assert response.status_code in (200, 201), response.text
    return response.json()


# --- §10.1 - 3: de-duplication -------------------------------------------------------------------


async def test_a_known_phone_in_any_format_merges_into_the_existing_lead(
    client: Client, auth: Auth, team: dict[str, User]
) -> None:
    first = await client.post(
        "/api/sales/crm/leads",
        json={"name": "Asha", "phone": "+919876543210"},
        headers=auth(user=team["sales"]),
    )
    assert first.status_code == 201, first.text
    created = first.json()
    assert created["merged"] is False and created["lead"]["assigned_to"] == str(team["sales"].id)
    assert created["lead"]["owning_sales_head_id"] == str(team["head"].id)
    again = await client.post(
        "/api/sales/crm/leads",
        json={"name": "Somebody", "phone": "098765 43210", "city": "Pune"},
        headers=auth(user=team["sales"]),
    )
    assert again.status_code == 200, again.text
    merged = again.json()
    assert merged["id"] == created["id"] and merged["merged"] is True
    assert merged["lead"]["id"] == created["id"]
    lead = (await client.get(f"/api/crm/leads/{created['id']}", headers=auth(Role.ADMIN))).json()
    assert lead["assigned_to"] == str(team["sales"].id)
    assert lead["owning_sales_head_id"] == str(team["head"].id)
    assert (lead["name"], lead["city"], lead["reinquiry_count"]) == ("Asha", "Pune", 1)
    timeline = await client.get(
        f"/api/sales/crm/leads/{created['id']}/timeline", headers=auth(Role.ADMIN)
    )
    assert "INTAKE_MERGED" in [a["type"] for a in timeline.json()["items"]]
    assert timeline.json()["items"][0]["type"] == "INTAKE_MERGED"  # newest first
    assert await rows(client.app.state.container, LeadIntakeRow) == 2


async def refused(response: Any) -> None:
    """409 ``lead_exists_elsewhere``, naming no lead: no id, no field of it."""
    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "lead_exists_elsewhere"
    assert "id" not in body and "lead" not in body and "Asha" not in response.text


async def test_adding_a_lead_outside_ones_scope_reveals_and_changes_nothing(
    client: Client, auth: Auth, team: dict[str, User]
) -> None:
    """Issue 8 (existence oracle): another salesperson, and a sales head of another pool, get a
    409 without the lead; the lead is untouched and its journal shows the attempt."""
    created = await add(client, auth(user=team["sales"]), name="Asha", phone="+919876543210")
    for who, path in (
        (team["other"], "/api/sales/crm/leads"),
        (team["other_head"], "/api/sales/crm/leads"),
        (team["other_head"], "/api/crm/leads"),
    ):
        await refused(
            await client.post(
                path,
                json={"name": "Somebody", "phone": "098765 43210", "city": "Pune"},
                headers=auth(user=who),
            )
        )
    lead = (await client.get(f"/api/crm/leads/{created['id']}", headers=auth(Role.ADMIN))).json()
    assert (lead["city"], lead["reinquiry_count"], lead["version"]) == (
        None,
        0,
        created["lead"]["version"],
    )
    timeline = await client.get(
        f"/api/sales/crm/leads/{created['id']}/timeline", headers=auth(user=team["sales"])
    )
    refusals = [a for a in timeline.json()["items"] if a["type"] == "INTAKE_REFUSED"]
    assert [a["actor_id"] for a in refusals] == [
        str(team["other_head"].id),
        str(team["other_head"].id),
        str(team["other"].id),
    ]
    assert await rows(client.app.state.container, LeadIntakeRow) == 1


async def test_a_head_with_isolation_off_reads_but_does_not_merge_into_another_pool(
    client: Client, auth: Auth, team: dict[str, User]
) -> None:
    created = await add(client, auth(user=team["sales"]), name="Asha", phone="+919876543210")
    isolation_off = await client.patch(
        f"/api/admin/crm/sales-heads/{team['other_head'].id}",
        json={"isolation_enabled": False},
        headers=auth(Role.ADMIN),
    )
    assert isolation_off.status_code == 200, isolation_off.text
    reader = auth(user=team["other_head"])
    seen = await client.get(f"/api/crm/leads/{created['id']}", headers=reader)
    assert seen.status_code == 200, seen.text
    await refused(
        await client.post(
            "/api/crm/leads", json={"name": "X", "phone": "9876543210"}, headers=reader
        )
    )
    lead = (await client.get(f"/api/crm/leads/{created['id']}", headers=reader)).json()
    assert lead["reinquiry_count"] == 0


async def test_the_public_form_answers_the_same_for_a_known_phone(
    client: Client, auth: Auth, team: dict[str, User]
) -> None:
    """A door without a person merges (single pool) but echoes nothing about the lead."""
    created = await add(client, auth(user=team["sales"]), name="Asha", phone="+919876543210")
    campaign = await client.post(
        "/api/crm/campaigns",
        json={"slug": "open-day", "name": "Open day", "programme": "drone-tech"},
        headers=auth(Role.ADMIN),
    )
    assert campaign.status_code == 201, campaign.text
    answers = [
        await client.post(
            "/api/public/campaigns/open-day/leads",
            json={"name": "Visitor", "phone": phone},
        )
        for phone in ("9876543210", "9876500099")
    ]
    assert [a.status_code for a in answers] == [202, 202]
    assert answers[0].json() == answers[1].json()
    assert created["id"] not in answers[0].text


async def test_a_merge_never_overwrites_a_name_or_email(
    client: Client, auth: Auth, team: dict[str, User]
) -> None:
    head = auth(user=team["head"])
    first = await add(client, head, pool=True, name="Asha", phone="9876500001", email="a@x.org")
    await add(
        client, head, pool=True, name="Other", phone="9876500001", email="b@x.org", state="MH"
    )
    lead = (await client.get(f"/api/crm/leads/{first['id']}", headers=head)).json()
    assert (lead["name"], lead["email"], lead["state"]) == ("Asha", "a@x.org", "MH")


async def test_a_lost_lead_reopens_and_a_converted_one_stays(
    client: Client, auth: Auth, team: dict[str, User]
) -> None:
    head = auth(user=team["head"])
    lost = await add(client, head, pool=True, name="Lost", phone="9876500002")
    won = await add(client, head, pool=True, name="Won", phone="9876500003")
    moved = await client.post(
        f"/api/sales/crm/leads/{lost['id']}/status",
        json={"to": "NOT_INTERESTED", "lost_reason": "fees"},
        headers=head,
    )
    assert moved.status_code == 200 and moved.json()["status"] == "NOT_INTERESTED"
    for body in (
        {"to": "CONTACTED"},
        {"to": "INTERESTED"},
        {"to": "CONVERTED", "conversion_ref": "app-1"},
    ):
        response = await client.post(
            f"/api/sales/crm/leads/{won['id']}/status", json=body, headers=head
        )
        assert response.status_code == 200, response.text
    again = await add(client, head, pool=True, name="Lost", phone="9876500002")
    assert again["outcome"] == "REOPENED"
    reopened = (await client.get(f"/api/crm/leads/{lost['id']}", headers=head)).json()
    assert reopened["status"] == "NEW" and reopened["reinquiry_count"] == 1
    kinds = [
        a["type"]
        for a in (
            await client.get(f"/api/sales/crm/leads/{lost['id']}/timeline", headers=head)
        ).json()["items"]
    ]
    assert "REOPENED" in kinds
    await add(client, head, pool=True, name="Won", phone="9876500003")
    assert (await client.get(f"/api/crm/leads/{won['id']}", headers=head)).json()[
        "status"
    ] == "CONVERTED"


# --- §10.4: status rules -------------------------------------------------------------------------


async def test_status_errors(client: Client, auth: Auth, team: dict[str, User]) -> None:
    sales = auth(user=team["sales"])
    lead = await add(client, sales, name="S", phone="9876500004")
    path = f"/api/sales/crm/leads/{lead['id']}/status"
    illegal = await client.post(
        path, json={"to": "CONVERTED", "conversion_ref": "x"}, headers=sales
    )
    assert illegal.status_code == 409
    assert illegal.json()["code"] == "illegal_transition"
    assert "'NEW'" in illegal.json()["detail"] and "'CONVERTED'" in illegal.json()["detail"]
    for to in ("CONTACTED", "INTERESTED"):
        assert (await client.post(path, json={"to": to}, headers=sales)).status_code == 200
    no_ref = await client.post(path, json={"to": "CONVERTED"}, headers=sales)
    assert no_ref.status_code == 422
    assert [e["field"] for e in no_ref.json()["errors"]] == ["conversion_ref"]
    no_reason = await client.post(path, json={"to": "CLOSED"}, headers=sales)
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "lost_reason"
    done = await client.post(
        path, json={"to": "CONVERTED", "conversion_ref": "pay_9"}, headers=sales
    )
    assert done.status_code == 200
    out = await client.post(path, json={"to": "NOT_INTERESTED", "lost_reason": "x"}, headers=sales)
    assert out.status_code == 409 and out.json()["code"] == "illegal_transition"
    same = await client.post(path, json={"to": "CONVERTED"}, headers=sales)
    assert same.status_code == 200 and same.json()["version"] == done.json()["version"]
    bad = await client.post(path, json={"to": "WON"}, headers=sales)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "to"


async def test_edits_use_if_match(client: Client, auth: Auth, team: dict[str, User]) -> None:
    sales = auth(user=team["sales"])
    lead = await add(client, sales, name="E", phone="9876500005")
    path = f"/api/sales/crm/leads/{lead['id']}"
    missing = await client.patch(path, json={"city": "Pune"}, headers=sales)
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "If-Match"
    ok = await client.patch(path, json={"city": "Pune"}, headers={**sales, "If-Match": '"0"'})
    assert ok.status_code == 200 and ok.json()["version"] == 1 and ok.json()["city"] == "Pune"
    stale = await client.patch(path, json={"city": "Goa"}, headers={**sales, "If-Match": "0"})
    assert stale.status_code == 409 and stale.json()["code"] == "stale_version"
    assert "version 1" in stale.json()["detail"]
    phone = await client.patch(
        path, json={"phone": "9876500099"}, headers={**sales, "If-Match": "1"}
    )
    assert phone.status_code == 422  # a salesperson cannot change the main phone
    moved = await client.post(
        f"{path}/status", json={"to": "CONTACTED"}, headers={**sales, "If-Match": "0"}
    )
    assert moved.status_code == 409 and moved.json()["code"] == "stale_version"
    head = auth(user=team["head"])
    both = await client.patch(
        f"/api/crm/leads/{lead['id']}",
        json={"state": "KA", "status": "CONTACTED"},
        headers={**head, "If-Match": "1"},
    )
    assert both.status_code == 200, both.text
    assert (both.json()["state"], both.json()["status"], both.json()["version"]) == (
        "KA",
        "CONTACTED",
        2,
    )


# --- issue 8: no side door for a sales head ---------------------------------------------------


async def test_a_head_without_the_page_or_its_flag_is_refused_on_both_route_families(
    client: Client, auth: Auth, team: dict[str, User], sqlite_container: Any
) -> None:
    c = sqlite_container
    lead = await add(client, auth(user=team["sales"]), name="Asha", phone="9876500031")
    head = auth(user=team["head"])
    calls = [
        ("GET", "/api/crm/leads", None),
        ("GET", "/api/sales/crm/leads", None),
        ("GET", f"/api/sales/crm/leads/{lead['id']}", None),
        ("PATCH", f"/api/sales/crm/leads/{lead['id']}", {"city": "Pune"}),
        ("POST", f"/api/sales/crm/leads/{lead['id']}/status", {"to": "CONTACTED"}),
        ("POST", "/api/sales/crm/leads", {"name": "New", "phone": "9876500032"}),
    ]

    async def codes() -> list[tuple[int, str | None]]:
        answers = []
        for method, path, body in calls:
            response = await client.request(
                method, path, json=body, headers={**head, "If-Match": "0"}
            )
            answers.append((response.status_code, response.json().get("code")))
        return answers

    opened = await client.get("/api/sales/crm/leads", headers=head)  # caches the profile
    assert opened.status_code == 200, opened.text
    switched_off = await client.patch(
        f"/api/admin/crm/sales-heads/{team['head'].id}",
        json={"page_flags": {"leads": False}},
        headers=auth(Role.ADMIN),
    )
    assert switched_off.status_code == 200, switched_off.text
    assert await codes() == [(403, "page_disabled")] * len(calls)

    async with c.uow() as uow:
        await uow.users.set_permissions(team["head"].id, [], team["head"].id)
        await uow.commit()
    await c.identity.access.forget(team["head"].id)
    assert await codes() == [(403, "page_forbidden")] * len(calls)

    sales = auth(user=team["sales"])
    assert (await client.get("/api/sales/crm/leads", headers=sales)).json()["total"] == 1
    lead_after = (await client.get(f"/api/crm/leads/{lead['id']}", headers=auth(Role.ADMIN))).json()
    assert (lead_after["city"], lead_after["status"]) == (None, "NEW")


# --- §10.5: scope --------------------------------------------------------------------------------


async def test_scope(client: Client, auth: Auth, team: dict[str, User]) -> None:
    mine = await add(client, auth(user=team["sales"]), name="Mine", phone="9876500006")
    path = f"/api/sales/crm/leads/{mine['id']}"
    assert (await client.get(path, headers=auth(user=team["sales"]))).status_code == 200
    hidden = await client.get(path, headers=auth(user=team["other"]))
    assert hidden.status_code == 404 and hidden.json()["code"] == "lead_not_found"
    assert (
        await client.get(f"/api/crm/leads/{mine['id']}", headers=auth(user=team["head"]))
    ).status_code == 200
    assert (
        await client.get(f"/api/crm/leads/{mine['id']}", headers=auth(user=team["other_head"]))
    ).status_code == 404
    assert (
        await client.get(f"/api/crm/leads/{mine['id']}", headers=auth(Role.ADMIN))
    ).status_code == 200
    listed = await client.get("/api/sales/crm/leads", headers=auth(user=team["other"]))
    assert listed.json()["items"] == [] and listed.json()["total"] == 0
    pool = await client.get(
        "/api/crm/leads?status=NEW&page_size=50", headers=auth(user=team["head"])
    )
    assert [lead["id"] for lead in pool.json()["items"]] == [mine["id"]]
    assert pool.json()["total_capped"] is False
    unassigned = await client.get("/api/crm/leads?assigned=none", headers=auth(Role.ADMIN))
    assert unassigned.json()["total"] == 0
    other_pool = await client.post(
        "/api/crm/leads",
        json={
            "name": "X",
            "phone": "9876500007",
            "owning_sales_head_id": str(team["other_head"].id),
        },
        headers=auth(user=team["head"]),
    )
    assert other_pool.status_code == 403


async def test_a_head_needs_the_page(
    client: Client, auth: Auth, accounts: dict[Role, User]
) -> None:
    no_pages = await add_user(client.app.state.container, Role.SALES_HEAD)
    response = await client.get("/api/crm/leads", headers=auth(user=no_pages))
    assert response.status_code == 403 and response.json()["code"] == "page_forbidden"
    funnel = await client.get("/api/crm/analytics/funnel", headers=auth(user=no_pages))
    assert funnel.status_code == 403


# --- §10.9, 10: the public form ------------------------------------------------------------------


@pytest.fixture
async def campaign(client: Client, auth: Auth, team: dict[str, User]) -> dict[str, Any]:
    response = await client.post(
        "/api/crm/campaigns",
        json={
            "slug": "drone-2025",
            "name": "Drone 2025",
            "programme": "drone-tech",
            "default_sales_head_id": str(team["head"].id),
        },
        headers=auth(Role.ADMIN),
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_concurrent_form_submissions_of_one_phone_make_one_lead(
    client: Client, campaign: dict[str, Any]
) -> None:
    forms = [{"name": "Ravi", "phone": "98765 00010"}, {"name": "Ravi K", "phone": "+919876500010"}]
    responses = await asyncio.gather(
        *[client.post("/api/public/campaigns/drone-2025/leads", json=f) for f in forms]
    )
    assert [r.status_code for r in responses] == [202, 202]
    c = client.app.state.container
    assert await rows(c, RawLeadRow) == 1
    assert await rows(c, LeadIntakeRow, LeadIntakeRow.channel == "CAMPAIGN") == 2
    assert await rows(c, CampaignLeadRow, CampaignLeadRow.status == "PROMOTED") == 2


async def test_the_form_answers_the_same_for_new_and_known_phones(
    client: Client, auth: Auth, campaign: dict[str, Any], team: dict[str, User]
) -> None:
    await add(client, auth(user=team["sales"]), name="Known", phone="9876500011")
    known = await client.post(
        "/api/public/campaigns/drone-2025/leads", json={"name": "Known", "phone": "9876500011"}
    )
    new = await client.post(
        "/api/public/campaigns/drone-2025/leads", json={"name": "New", "phone": "9876500012"}
    )
    bot = await client.post(
        "/api/public/campaigns/drone-2025/leads",
        json={"name": "Bot", "phone": "9876500013", "website": "http://spam.example"},
    )
    assert known.status_code == new.status_code == bot.status_code == 202
    assert known.content == new.content == bot.content == b'{"received":true}'
    submissions = await client.get(
        "/api/crm/campaign-leads?status=REJECTED", headers=auth(Role.ADMIN)
    )
    assert [s["reject_reason"] for s in submissions.json()["items"]] == ["honeypot"]
    assert await rows(client.app.state.container, RawLeadRow) == 2


async def test_form_errors(client: Client, auth: Auth, campaign: dict[str, Any]) -> None:
    unknown = await client.post(
        "/api/public/campaigns/nope/leads", json={"name": "A", "phone": "9876500020"}
    )
    assert unknown.status_code == 404
    no_contact = await client.post("/api/public/campaigns/drone-2025/leads", json={"name": "A"})
    assert no_contact.status_code == 422 and no_contact.json()["code"] == "contact_required"
    for i in range(4):  # five per address in ten minutes, the refused one above included
        ok = await client.post(
            "/api/public/campaigns/drone-2025/leads", json={"name": "A", "email": f"a{i}@x.org"}
        )
        assert ok.status_code == 202
    too_many = await client.post(
        "/api/public/campaigns/drone-2025/leads", json={"name": "A", "phone": "9876500022"}
    )
    assert too_many.status_code == 429 and int(too_many.headers["Retry-After"]) > 0
    closed = await client.patch(
        f"/api/crm/campaigns/{campaign['id']}",
        json={"ends_at": "2020-01-01T00:00:00+05:30"},
        headers=auth(Role.ADMIN),
    )
    assert closed.status_code == 200, closed.text
    gone = await client.post(
        "/api/public/campaigns/drone-2025/leads", json={"name": "A", "phone": "9876500023"}
    )
    assert gone.status_code == 410
    off = await client.patch(
        f"/api/crm/campaigns/{campaign['id']}", json={"is_active": False}, headers=auth(Role.ADMIN)
    )
    assert off.status_code == 200
    inactive = await client.post(
        "/api/public/campaigns/drone-2025/leads", json={"name": "A", "phone": "9876500024"}
    )
    assert inactive.status_code == 404
    dup = await client.post(
        "/api/crm/campaigns",
        json={"slug": "drone-2025", "name": "Again", "programme": "drone-tech"},
        headers=auth(Role.ADMIN),
    )
    assert dup.status_code == 409 and dup.json()["code"] == "campaign_slug_taken"


# --- §10.11, 12: follow-ups and the journal ------------------------------------------------------


async def test_follow_ups_and_the_missed_job(
    client: Client, auth: Auth, team: dict[str, User]
) -> None:
    sales = auth(user=team["sales"])
    c = client.app.state.container
    lead = await add(client, sales, name="F", phone="9876500030")
    now = c.clock.now()
    past = await client.post(
        f"/api/sales/crm/leads/{lead['id']}/follow-ups",
        json={"due_at": (now - timedelta(hours=1)).isoformat()},
        headers=sales,
    )
    assert past.status_code == 422 and past.json()["errors"][0]["field"] == "due_at"
    soon = await client.post(
        f"/api/sales/crm/leads/{lead['id']}/follow-ups",
        json={"due_at": (now + timedelta(minutes=1)).isoformat(), "channel": "WHATSAPP"},
        headers=sales,
    )
    assert soon.status_code == 201, soon.text
    week = await client.get("/api/sales/crm/follow-ups?window=week", headers=sales)
    assert [f["id"] for f in week.json()["items"]] == [soon.json()["id"]]
    assert week.json()["total"] == 1 and week.json()["page"] == 1
    late = FollowUp(
        id=uuid7(),
        raw_lead_id=uuid.UUID(lead["id"]),
        owner_id=team["sales"].id,
        due_at=now - timedelta(hours=3),
        channel=FollowUpChannel.CALL,
        note="",
        created_at=now - timedelta(hours=5),
    )
    async with c.uow() as uow:
        await uow.leads.add_follow_up(late)
        await uow.commit()
    for tick in ("a", "b"):
        await c.jobs.enqueue("crm.follow_up_missed", {}, key=f"cron:crm.follow_up_missed:{tick}")
    overdue = await client.get("/api/sales/crm/follow-ups?window=overdue", headers=sales)
    assert [(f["id"], f["status"]) for f in overdue.json()["items"]] == [(str(late.id), "MISSED")]
    timeline = await client.get(f"/api/sales/crm/leads/{lead['id']}/timeline", headers=sales)
    assert [a["type"] for a in timeline.json()["items"]].count("FOLLOW_UP_MISSED") == 1
    done = await client.patch(
        f"/api/sales/crm/follow-ups/{late.id}",
        json={"action": "done", "outcome_note": "called late"},
        headers=sales,
    )
    assert done.status_code == 200 and done.json()["status"] == "DONE"
    again = await client.patch(
        f"/api/sales/crm/follow-ups/{late.id}", json={"action": "cancel"}, headers=sales
    )
    assert again.status_code == 409
    bad_window = await client.get("/api/sales/crm/follow-ups?window=month", headers=sales)
    assert bad_window.status_code == 422


async def test_the_digest_is_one_email_per_person_per_day(
    client: Client, auth: Auth, team: dict[str, User]
) -> None:
    sales = auth(user=team["sales"])
    c = client.app.state.container
    lead = await add(client, sales, name="Digest", phone="9876500031")
    await client.post(
        f"/api/sales/crm/leads/{lead['id']}/follow-ups",
        json={"due_at": c.clock.now().isoformat(), "note": "call about fees"},
        headers=sales,
    )
    for tick in ("08:30", "08:30-again"):
        await c.jobs.enqueue("crm.follow_up_digest", {}, key=f"cron:crm.follow_up_digest:{tick}")
    async with c.sessions() as s:
        mails = (await s.execute(select(OutboxMessageRow))).scalars().all()
    assert [m.recipient for m in mails] == [team["sales"].email]
    assert "Digest" in mails[0].body_text and "call about fees" in mails[0].body_text


async def test_activities_cannot_be_edited_through_any_route(client: Client) -> None:
    for route in client.app.routes:
        for handler in route.route_handlers:
            methods = set(getattr(handler, "http_methods", []) or [])
            if "timeline" in route.path or "activit" in route.path or "notes" in route.path:
                assert not methods & {"PUT", "PATCH", "DELETE"}, route.path


async def test_notes_and_the_activity_feed(
    client: Client, auth: Auth, team: dict[str, User]
) -> None:
    sales = auth(user=team["sales"])
    lead = await add(client, sales, name="N", phone="9876500032")
    note = await client.post(
        f"/api/sales/crm/leads/{lead['id']}/notes",
        json={"body": "asked for brochure"},
        headers=sales,
    )
    assert note.status_code == 201 and note.json()["type"] == "NOTE"
    too_long = await client.post(
        f"/api/sales/crm/leads/{lead['id']}/notes", json={"body": "x" * 4001}, headers=sales
    )
    assert too_long.status_code == 422 and too_long.json()["errors"][0]["field"] == "body"
    feed = await client.get("/api/sales/crm/activity?limit=1", headers=sales)
    assert [a["summary"] for a in feed.json()["items"]] == ["asked for brochure"]
    assert feed.json()["next_cursor"]
    more = await client.get(
        f"/api/sales/crm/activity?limit=5&cursor={feed.json()['next_cursor']}", headers=sales
    )
    assert "NOTE" not in [a["type"] for a in more.json()["items"]]
    bad = await client.get("/api/sales/crm/activity?cursor=nonsense", headers=sales)
    assert bad.status_code == 422


# --- §10.14: one event per status change ---------------------------------------------------------


async def test_a_retried_status_change_emits_one_event(
    client: Client, auth: Auth, team: dict[str, User]
) -> None:
    sales = auth(user=team["sales"])
    lead = await add(client, sales, name="I", phone="9876500040")
    path = f"/api/sales/crm/leads/{lead['id']}/status"
    headers = {**sales, "Idempotency-Key": "move-1"}
    first = await client.post(path, json={"to": "CONTACTED"}, headers=headers)
    assert first.status_code == 200
    moved_on = await client.post(path, json={"to": "FOLLOW_UP"}, headers=sales)
    assert moved_on.status_code == 200
    retry = await client.post(path, json={"to": "CONTACTED"}, headers=headers)
    assert retry.status_code == 200 and retry.json()["status"] == "FOLLOW_UP"
    c = client.app.state.container
    async with c.sessions() as s:
        events = (
            (
                await s.execute(
                    select(OutboxEventRow.payload).where(
                        OutboxEventRow.subject == "mas.lead.status_changed"
                    )
                )
            )
            .scalars()
            .all()
        )
    assert sorted((e["from_status"], e["to_status"]) for e in events) == [
        ("CONTACTED", "FOLLOW_UP"),
        ("NEW", "CONTACTED"),
    ]


# --- §10.15: tags --------------------------------------------------------------------------------


async def test_tags(client: Client, auth: Auth, team: dict[str, User]) -> None:
    refused = await client.post(
        "/api/crm/tags", json={"name": "hot"}, headers=auth(user=team["head"])
    )
    assert refused.status_code == 403 and refused.json()["code"] == "role_forbidden"
    hot = await client.post(
        "/api/crm/tags", json={"name": "Hot Lead", "color": "#ff0000"}, headers=auth(Role.ADMIN)
    )
    assert hot.status_code == 201 and hot.json()["name"] == "hot-lead"
    dup = await client.post("/api/crm/tags", json={"name": "HOT-LEAD"}, headers=auth(Role.ADMIN))
    assert dup.status_code == 409 and dup.json()["code"] == "tag_exists"
    listed = await client.get("/api/crm/tags", headers=auth(user=team["sales"]))
    assert [t["name"] for t in listed.json()["items"]] == ["hot-lead"]
    sales = auth(user=team["sales"])
    lead = await add(client, sales, name="T", phone="9876500050")
    tagged = await client.post(
        f"/api/sales/crm/leads/{lead['id']}/tags/{hot.json()['id']}", headers=sales
    )
    assert tagged.status_code == 200 and tagged.json()["tags"] == ["hot-lead"]
    missing = await client.post(f"/api/sales/crm/leads/{lead['id']}/tags/{uuid7()}", headers=sales)
    assert missing.status_code == 404 and missing.json()["code"] == "tag_not_found"
    filtered = await client.get("/api/sales/crm/leads?tag=hot-lead", headers=sales)
    assert [lead_["id"] for lead_ in filtered.json()["items"]] == [lead["id"]]
    untagged = await client.delete(
        f"/api/sales/crm/leads/{lead['id']}/tags/{hot.json()['id']}", headers=sales
    )
    assert untagged.status_code == 200 and untagged.json()["tags"] == []
    renamed = await client.patch(
        f"/api/crm/tags/{hot.json()['id']}", json={"name": "warm"}, headers=auth(Role.ADMIN)
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == "warm"
    too_many = await client.post(
        "/api/crm/leads/bulk-tag",
        json={"lead_ids": [str(uuid7()) for _ in range(5001)], "add": ["warm"]},
        headers=auth(user=team["head"]),
    )
    assert too_many.status_code == 422 and too_many.json()["errors"][0]["field"] == "lead_ids"
    bulk = await client.post(
        "/api/crm/leads/bulk-tag",
        json={"lead_ids": [lead["id"], str(uuid7())], "add": ["warm"]},
        headers=auth(user=team["head"]),
    )
    assert bulk.json() == {"requested": 2, "in_scope": 1, "added": 1, "removed": 0}
    assert (
        await client.delete(f"/api/crm/tags/{hot.json()['id']}", headers=auth(Role.ADMIN))
    ).status_code == 204


# --- export, funnel, delete ----------------------------------------------------------------------


async def test_export_streams_csv(client: Client, auth: Auth, team: dict[str, User]) -> None:
    head = auth(user=team["head"])
    for i in range(3):
        await add(client, head, pool=True, name=f"Lead {i}", phone=f"98765001{i:02d}")
    response = await client.get("/api/crm/leads/export.csv?status=NEW", headers=head)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    lines = response.text.strip().splitlines()
    assert lines[0].startswith("id,name,phone_e164") and len(lines) == 4
    empty = await client.get("/api/crm/leads/export.csv?status=CONVERTED", headers=head)
    assert empty.text.strip().splitlines() == [lines[0]]


async def test_funnel_and_delete(client: Client, auth: Auth, team: dict[str, User]) -> None:
    head = auth(user=team["head"])
    lead = await add(client, head, pool=True, name="F", phone="9876500060")
    report = await client.get("/api/crm/analytics/funnel", headers=head)
    assert report.status_code == 200 and report.json()["by_status"]["NEW"] == 1
    too_long = await client.get(
        "/api/crm/analytics/funnel?date_from=2024-01-01&date_to=2025-06-01", headers=head
    )
    assert too_long.status_code == 422
    refused = await client.delete(f"/api/crm/leads/{lead['id']}", headers=head)
    assert refused.status_code == 403
    gone = await client.delete(f"/api/crm/leads/{lead['id']}", headers=auth(Role.ADMIN))
    assert gone.status_code == 204
    assert (
        await client.get(f"/api/crm/leads/{lead['id']}", headers=auth(Role.ADMIN))
    ).status_code == 404
    after = await client.get("/api/crm/analytics/funnel", headers=head)
    assert after.json()["total"] == 0


def test_the_openapi_document_names_every_crm_route() -> None:
    schema = described_app().openapi_schema.to_schema()
    crm = [p for p in schema["paths"] if "/crm" in p or "/public/campaigns" in p]
    assert len(crm) >= 20
    for path in crm:
        for operation in schema["paths"][path].values():
            assert (
                operation.get("operationId") and operation.get("summary") and operation.get("tags")
            )
    assert msgspec.json.encode(schema)


async def test_the_pool_list_pages_by_cursor_and_refuses_a_tampered_one(
    client: Client, auth: Auth, team: dict[str, User]
) -> None:
    head = auth(user=team["head"])
    added = [
        (await add(client, head, name=f"Paged {i}", phone=f"98765004{i:02d}", pool=True))["id"]
        for i in range(5)
    ]
    first = await client.get("/api/crm/leads?page_size=2", headers=head)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["has_more"] and body["next_cursor"] and body["total"] == 5
    assert body["total_is_estimate"] is False and body["total_capped"] is False
    seen = [lead["id"] for lead in body["items"]]
    while body["has_more"]:
        answer = await client.get(
            f"/api/crm/leads?page_size=2&cursor={body['next_cursor']}", headers=head
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        seen += [lead["id"] for lead in body["items"]]
    assert seen == list(reversed(added)) and body["next_cursor"] is None
    cursor = first.json()["next_cursor"]
    for bad in ("nonsense", cursor + "f", cursor.replace("-", "_"), cursor[:-1] + "g"):
        tampered = await client.get(f"/api/crm/leads?cursor={bad}", headers=head)
        assert tampered.status_code == 422, (bad, tampered.text)
    both = await client.get(f"/api/crm/leads?page=2&cursor={cursor}", headers=head)
    assert both.status_code == 422 and both.json()["code"] == "page_with_cursor"
    mine = await client.get(
        f"/api/sales/crm/leads?cursor={cursor}", headers=auth(user=team["sales"])
    )
    assert mine.status_code == 200 and mine.json()["items"] == [], "a position, not a scope"
