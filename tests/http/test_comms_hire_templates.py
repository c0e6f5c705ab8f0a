"""Mr. Hire's email templates over HTTP (``/api/mr-hire/workflow/email-templates``): any
signed-in user writes their own HIRE templates, an administrator all of them; another user's is
a 404; a key taken by any live template is a 409."""

from __future__ import annotations

import uuid
from typing import Any

from litestar.testing import AsyncTestClient

from mas.core.identity.model import User
from mas.core.identity.policy import Platform, Role
from tests.http.conftest import Auth, add_user

PATH = "/api/mr-hire/workflow/email-templates"
HIRE = Platform.MR_HIRE


def template(key: str = "offer-letter", **given: Any) -> dict[str, Any]:
    return {
        "key": key,
        "name": "Offer letter",
        "subject": "Your offer, {{ name }}",
        "body_html": "<p>Dear {{ name }}, welcome aboard.</p>",
        "variables": ["name"],
        **given,
    }


async def test_a_recruiter_writes_their_own_templates(
    client: AsyncTestClient[Any], auth: Auth
) -> None:
    hr = auth(Role.EXTERNAL_HR, HIRE)
    created = await client.post(PATH, json=template(), headers=hr)
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["category"], body["owner_scope"], body["sales_head_id"], body["is_active"]) == (
        "HIRE",
        "POOL",
        None,
        True,
    )
    template_id = body["id"]
    listed = (await client.get(PATH, headers=hr)).json()
    assert [t["id"] for t in listed["items"]] == [template_id]

    replaced = await client.put(
        f"{PATH}/{template_id}",
        json=template(
            "offer-letter-v2",
            subject="Offer",
            body_html="<p>Welcome</p>",
            variables=[],
            is_active=False,
        ),
        headers=hr,
    )
    assert replaced.status_code == 200, replaced.text
    assert (replaced.json()["key"], replaced.json()["is_active"]) == ("offer-letter-v2", False)
    assert (await client.get(f"{PATH}/{template_id}", headers=hr)).json()["subject"] == "Offer"

    assert (await client.delete(f"{PATH}/{template_id}", headers=hr)).status_code == 204
    assert (await client.get(f"{PATH}/{template_id}", headers=hr)).status_code == 404
    # a deleted template's key is free again
    again = await client.post(PATH, json=template("offer-letter-v2"), headers=hr)
    assert again.status_code == 201


async def test_another_users_template_is_not_found_but_an_admin_reaches_it(
    client: AsyncTestClient[Any], auth: Auth, sqlite_container: Any
) -> None:
    owner: User = await add_user(sqlite_container, Role.EXTERNAL_HR)
    mine = auth(user=owner, platform=HIRE)
    template_id = (await client.post(PATH, json=template(), headers=mine)).json()["id"]
    for other in (auth(Role.EXTERNAL_HR, HIRE), auth(Role.SALES), auth(Role.USER)):
        assert (await client.get(f"{PATH}/{template_id}", headers=other)).status_code == 404
        put = await client.put(f"{PATH}/{template_id}", json=template("x"), headers=other)
        assert put.status_code == 404 and put.json()["code"] == "template_not_found"
        assert (await client.delete(f"{PATH}/{template_id}", headers=other)).status_code == 404
        assert (await client.get(PATH, headers=other)).json()["total"] == 0
    admin = auth(Role.ADMIN, HIRE)
    assert (await client.get(f"{PATH}/{template_id}", headers=admin)).status_code == 200
    assert (await client.get(PATH, headers=admin)).json()["total"] == 1
    edited = await client.put(
        f"{PATH}/{template_id}", json=template(name="By admin"), headers=admin
    )
    assert edited.status_code == 200 and edited.json()["created_by"] == str(owner.id)


async def test_a_key_any_live_template_has_is_a_409(
    client: AsyncTestClient[Any], auth: Auth
) -> None:
    first = await client.post(PATH, json=template(), headers=auth(Role.EXTERNAL_HR, HIRE))
    assert first.status_code == 201
    for who in (auth(Role.EXTERNAL_HR, HIRE), auth(Role.ADMIN)):
        taken = await client.post(PATH, json=template(), headers=who)
        assert taken.status_code == 409 and taken.json()["code"] == "template_key_taken"
    # a sales template's key too
    crm = {**template("crm-intro"), "owner_scope": "GLOBAL"}
    assert (
        await client.post("/api/sales/email-templates", json=crm, headers=auth(Role.ADMIN))
    ).status_code == 201
    clash = await client.post(PATH, json=template("crm-intro"), headers=auth(Role.SALES))
    assert clash.status_code == 409
    # and renaming onto a taken key
    second = await client.post(PATH, json=template("second"), headers=auth(Role.SALES))
    renamed = await client.put(
        f"{PATH}/{second.json()['id']}", json=template("crm-intro"), headers=auth(Role.SALES)
    )
    assert renamed.status_code == 409


async def test_templates_of_other_categories_are_not_reached(
    client: AsyncTestClient[Any], auth: Auth
) -> None:
    admin = auth(Role.ADMIN)
    crm = await client.post(
        "/api/sales/email-templates",
        json={**template("crm-only"), "owner_scope": "GLOBAL"},
        headers=admin,
    )
    crm_id = crm.json()["id"]
    assert (await client.get(f"{PATH}/{crm_id}", headers=admin)).status_code == 404
    assert (await client.delete(f"{PATH}/{crm_id}", headers=admin)).status_code == 404
    assert (await client.get(PATH, headers=admin)).json()["total"] == 0


async def test_a_hire_template_stays_out_of_the_sales_routes(
    client: AsyncTestClient[Any], auth: Auth
) -> None:
    hire = await client.post(PATH, json=template(), headers=auth(Role.SALES_HEAD))
    assert hire.status_code == 201
    listed = await client.get("/api/sales/email-templates", headers=auth(Role.SALES_HEAD))
    assert listed.json()["total"] == 0
    assert (
        await client.get(
            f"/api/sales/email-templates/{hire.json()['id']}", headers=auth(Role.SALES)
        )
    ).status_code == 404


async def test_bad_templates_are_422(client: AsyncTestClient[Any], auth: Auth) -> None:
    hr = auth(Role.EXTERNAL_HR, HIRE)
    undeclared = await client.post(PATH, json=template(variables=[]), headers=hr)
    assert undeclared.status_code == 422 and undeclared.json()["code"] == "template_invalid"
    for bad in (
        template(key="Not A Slug"),
        template(key="auth.signup_otp"),
        template(subject=""),
        template(name="n" * 151),
        {**template(), "category": "CRM"},
        {**template(), "owner_scope": "GLOBAL"},
        template(is_active=1),
        {k: v for k, v in template().items() if k != "body_html"},
    ):
        response = await client.post(PATH, json=bad, headers=hr)
        assert response.status_code == 422, (bad, response.text)
    assert (await client.get(PATH, headers=hr)).json()["total"] == 0
    missing = await client.put(f"{PATH}/{uuid.uuid4()}", json=template(), headers=hr)
    assert missing.status_code == 404


async def test_the_mr_hire_platform_rule_applies(client: AsyncTestClient[Any], auth: Auth) -> None:
    """With ``X-Platform: mr-hire`` only recruiters and administrators holding an mr-hire
    token pass; without it any signed-in user does (workflow.md §2)."""
    sales_on_hire = await client.get(PATH, headers=auth(Role.SALES, HIRE))
    assert sales_on_hire.status_code == 403
    assert sales_on_hire.json()["code"] == "platform_forbidden"
    foreign = {**auth(Role.EXTERNAL_HR), "X-Platform": HIRE.value}
    assert (await client.get(PATH, headers=foreign)).status_code == 403
    assert (await client.get(PATH, headers=auth(Role.USER))).status_code == 200
    assert (await client.get(PATH)).status_code == 401
