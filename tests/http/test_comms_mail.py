"""Email templates, the send log and mailing a lead over HTTP (acceptance checks 2, 3, 14)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar.testing import AsyncTestClient

from mas.core.comms.mail.model import MailState
from mas.core.identity.policy import Role
from mas.core.platform.paging import PageRequest
from tests.http.conftest import Auth, http_client
from tests.integration.crm_fixtures import activities, add_floor, add_leads, set_lead

TEMPLATES = "/api/sales/email-templates"


def body(key: str, **fields: Any) -> dict[str, Any]:
    return {
        "key": key,
        "name": f"Template {key}",
        "subject": "Hello {{ name }}",
        "body_html": "<p>Hi {{ name }}, about {{ course }}</p>",
        "variables": ["name", "course"],
        **fields,
    }


async def test_an_undeclared_variable_cannot_be_saved(
    client: AsyncTestClient[Any], auth: Auth
) -> None:
    """Acceptance check 3."""
    response = await client.post(
        TEMPLATES,
        json=body("intro", owner_scope="GLOBAL", variables=["name"]),
        headers=auth(Role.ADMIN),
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "template_invalid"
    assert any("course" in e["message"] for e in problem["errors"])
    logic = await client.post(
        TEMPLATES,
        json=body("logic", owner_scope="GLOBAL", body_html="{% if name %}x{% endif %}"),
        headers=auth(Role.ADMIN),
    )
    assert logic.status_code == 422 and logic.json()["code"] == "template_invalid"


async def test_who_writes_and_reads_which_template(
    client: AsyncTestClient[Any], auth: Auth, sqlite_container: Any
) -> None:
    floor = await add_floor(sqlite_container, "East", telecallers=1, counsellors=0)
    other = await add_floor(sqlite_container, "West", telecallers=0, counsellors=0)
    head, seller = auth(user=floor.head), auth(user=floor.telecallers[0])
    made = await client.post(
        TEMPLATES, json=body("global-one", owner_scope="GLOBAL"), headers=auth()
    )
    assert made.status_code == 201, made.text
    global_id = made.json()["id"]
    pool = await client.post(TEMPLATES, json=body("east-pool"), headers=head)
    assert pool.status_code == 201, pool.text
    assert pool.json()["sales_head_id"] == str(floor.head.id)
    west = await client.post(
        TEMPLATES,
        json=body("west-pool", sales_head_id=str(other.head.id)),
        headers=auth(Role.ADMIN),
    )
    assert west.status_code == 201
    refusals = [
        (
            await client.post(TEMPLATES, json=body("g2", owner_scope="GLOBAL"), headers=head),
            403,
            "global_template_admin_only",
        ),
        (await client.post(TEMPLATES, json=body("s1"), headers=seller), 403, "templates_read_only"),
        (
            await client.patch(f"{TEMPLATES}/{global_id}", json={"name": "x"}, headers=head),
            403,
            "global_template_admin_only",
        ),
        (
            await client.post(TEMPLATES, json=body("east-pool"), headers=head),
            409,
            "template_key_taken",
        ),
        (
            await client.get(f"{TEMPLATES}/{west.json()['id']}", headers=head),
            404,
            "template_not_found",
        ),
        (
            await client.post(TEMPLATES, json=body("p1"), headers=auth(Role.ADMIN)),
            422,
            "pool_head_required",
        ),
        (
            await client.post(
                TEMPLATES, json=body("x", sales_head_id=str(other.head.id)), headers=head
            ),
            403,
            "not_your_pool",
        ),
    ]
    assert [(r.status_code, r.json()["code"]) for r, *_ in refusals] == [
        (status, code) for _, status, code in refusals
    ]
    keys = lambda response: [t["key"] for t in response.json()["items"]]  # noqa: E731
    assert keys(await client.get(TEMPLATES, headers=head)) == ["east-pool", "global-one"]
    assert keys(await client.get(TEMPLATES, headers=seller)) == ["global-one"]
    assert keys(await client.get(TEMPLATES, headers=auth())) == [
        "east-pool",
        "global-one",
        "west-pool",
    ]

    pool_id = pool.json()["id"]
    edited = await client.patch(
        f"{TEMPLATES}/{pool_id}",
        json={"subject": "Re: {{ course }}", "body_text": "Hi {{ name }}"},
        headers=head,
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["subject"], edited.json()["updated_by"]) == (
        "Re: {{ course }}",
        str(floor.head.id),
    )
    preview = await client.post(
        f"{TEMPLATES}/{pool_id}/preview",
        json={"data": {"name": "<Asha>", "course": "SQL"}},
        headers=head,
    )
    assert preview.status_code == 200, preview.text
    assert preview.json() == {
        "subject": "Re: SQL",
        "html": "<p>Hi &lt;Asha&gt;, about SQL</p>",
        "text": "Hi <Asha>",
    }
    missing = await client.post(
        f"{TEMPLATES}/{pool_id}/preview", json={"data": {"name": "A"}}, headers=head
    )
    assert missing.status_code == 422 and missing.json()["code"] == "missing_variables"
    assert [e["field"] for e in missing.json()["errors"]] == ["data.course"]
    gone = await client.delete(f"{TEMPLATES}/{pool_id}", headers=head)
    assert gone.status_code == 204
    assert (await client.get(f"{TEMPLATES}/{pool_id}", headers=head)).status_code == 404
    again = await client.post(TEMPLATES, json=body("east-pool"), headers=head)
    assert again.status_code == 201, "a deleted template frees its key"


async def test_mailing_a_lead_within_scope_only(
    client: AsyncTestClient[Any], auth: Auth, sqlite_container: Any
) -> None:
    c = sqlite_container
    floor = await add_floor(c, "South", telecallers=2, counsellors=0)
    mine_seller, other_seller = floor.telecallers
    seller = auth(user=mine_seller)
    [mine] = await add_leads(c, floor.head.id, 1, assigned_to=mine_seller.id)
    [theirs] = await add_leads(c, floor.head.id, 1, assigned_to=other_seller.id)
    [no_email] = await add_leads(c, floor.head.id, 1, assigned_to=mine_seller.id)
    await set_lead(c, mine, email="mine@example.com")
    await set_lead(c, theirs, email="theirs@example.com")
    made = await client.post(
        TEMPLATES, json=body("welcome", owner_scope="GLOBAL"), headers=auth(Role.ADMIN)
    )
    assert made.status_code == 201
    send = {"template_key": "welcome", "data": {"name": "Ravi", "course": "SQL"}}

    def url(lead: uuid.UUID) -> str:
        return f"/api/sales/crm/leads/{lead}/email"

    sent = await client.post(url(mine), json={**send, "idempotency_key": "k-1"}, headers=seller)
    assert sent.status_code == 202, sent.text
    assert sent.json()["to"] == "mine@example.com" and sent.json()["duplicate"] is False
    retry = await client.post(url(mine), json={**send, "idempotency_key": "k-1"}, headers=seller)
    assert retry.json()["email_id"] == sent.json()["email_id"] and retry.json()["duplicate"]
    # Acceptance check 14: a lead outside the caller's scope is a 404, and nothing is written.
    out = await client.post(url(theirs), json=send, headers=seller)
    assert out.status_code == 404 and out.json()["code"] == "lead_not_found"
    nothing = await client.post(url(no_email), json=send, headers=seller)
    assert nothing.status_code == 422 and nothing.json()["code"] == "lead_has_no_email"
    missing = await client.post(url(mine), json={**send, "data": {"name": "x"}}, headers=seller)
    assert missing.status_code == 422 and missing.json()["code"] == "missing_variables"
    unknown = await client.post(url(mine), json={**send, "template_key": "nope"}, headers=seller)
    assert unknown.status_code == 404 and unknown.json()["code"] == "template_not_found"
    await client.patch(
        f"{TEMPLATES}/{made.json()['id']}", json={"is_active": False}, headers=auth(Role.ADMIN)
    )
    inactive = await client.post(url(mine), json=send, headers=seller)
    assert inactive.status_code == 409 and inactive.json()["code"] == "template_inactive"

    journal = await activities(c, "EMAIL")
    assert [(j.raw_lead_id, j.actor_id) for j in journal] == [(mine, mine_seller.id)]
    log = await client.get("/api/sales/emails-sent", headers=seller)
    assert log.status_code == 200
    [entry] = log.json()["items"]
    assert (entry["id"], entry["related_id"], entry["status"], entry["state"]) == (
        sent.json()["email_id"],
        str(mine),
        "sent",
        "SENT",
    )
    other = auth(user=other_seller)
    assert (await client.get("/api/sales/emails-sent", headers=other)).json()["total"] == 0
    hidden = await client.get(f"/api/sales/emails-sent?lead_id={mine}", headers=other)
    assert hidden.status_code == 404
    by_lead = await client.get(
        f"/api/sales/emails-sent?lead_id={mine}&status=sent", headers=auth(user=floor.head)
    )
    assert [m["id"] for m in by_lead.json()["items"]] == [sent.json()["email_id"]]
    everything = await client.get("/api/sales/emails-sent", headers=auth(Role.ADMIN))
    assert sent.json()["email_id"] in [m["id"] for m in everything.json()["items"]]


async def test_password_reset_without_smtp_succeeds_and_parks_the_mail(
    sqlite_url: str, tmp_path: Any
) -> None:
    """Acceptance check 2: SMTP unconfigured, the reset still answers 202 and its mail waits
    as ``pending_config`` (the spec's SUPPRESSED, "not configured")."""
    from tests.conftest import make_settings, open_container
    from tests.http.conftest import add_user

    c = await open_container(
        make_settings(sqlite_url, tmp_path, mail_transport="smtp", smtp_host="")
    )
    try:
        user = await add_user(c, Role.USER)
        async with http_client(c) as client:
            response = await client.post("/api/auth/forgot-password", json={"email": user.email})
        assert response.status_code == 202, response.text
        box = await c.platform.delivery.mailbox(None, user.email, PageRequest())
        [mail] = box.items
        assert (mail.status.value, mail.template) == ("pending_config", "auth.password_reset_otp")
        assert MailState.of(mail.status) is MailState.SUPPRESSED
        assert mail.idempotency_key and mail.idempotency_key.startswith("otp:")
        assert "not configured" in (mail.last_error or "")
    finally:
        await c.close()
