"""Mr. Hire's workflow rules over HTTP (``/api/mr-hire/workflow/rules``): any signed-in user
keeps their own rules; another user's rule is a 404 (acceptance check 15); an email action
names one of the owner's HIRE email templates; delete is soft."""

from __future__ import annotations

import uuid
from typing import Any

from litestar.testing import AsyncTestClient

from mas.core.identity.model import User
from mas.core.identity.policy import Platform, Role
from tests.http.conftest import Auth, add_user

RULES = "/api/mr-hire/workflow/rules"
TEMPLATES = "/api/mr-hire/workflow/email-templates"
HIRE = Platform.MR_HIRE


async def hire_template(client: AsyncTestClient[Any], headers: dict[str, str], key: str) -> str:
    created = await client.post(
        TEMPLATES,
        json={"key": key, "name": key, "subject": "Hello", "body_html": "<p>Hi</p>"},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    template_id: str = created.json()["id"]
    return template_id


def rule(template_id: str | None = None, **given: Any) -> dict[str, Any]:
    actions: list[dict[str, Any]] = [{"type": "move_stage", "to": "SCREENING"}]
    if template_id is not None:
        actions.insert(0, {"type": "email", "template_id": template_id})
    return {
        "name": "Acknowledge applications",
        "event": "APPLICATION_RECEIVED",
        "conditions": [{"field": "application.source", "op": "in", "value": ["referral"]}],
        "actions": actions,
        **given,
    }


async def test_a_user_lists_only_their_own_rules_and_another_users_is_404(
    client: AsyncTestClient[Any], auth: Auth, sqlite_container: Any
) -> None:
    """Acceptance check 15."""
    alice: User = await add_user(sqlite_container, Role.EXTERNAL_HR)
    bob: User = await add_user(sqlite_container, Role.EXTERNAL_HR)
    as_alice, as_bob = auth(user=alice, platform=HIRE), auth(user=bob, platform=HIRE)
    template_id = await hire_template(client, as_alice, "ack")
    created = await client.post(RULES, json=rule(template_id), headers=as_alice)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["owner_id"] == str(alice.id) and body["is_active"] is True
    assert body["actions"] == [
        {"type": "email", "template_id": template_id},
        {"type": "move_stage", "to": "SCREENING"},
    ]
    rule_id = body["id"]
    await client.post(RULES, json=rule(name="Bob's"), headers=as_bob)

    mine = (await client.get(RULES, headers=as_alice)).json()
    assert [r["id"] for r in mine["items"]] == [rule_id] and mine["total"] == 1
    theirs = (await client.get(RULES, headers=as_bob)).json()
    assert [r["name"] for r in theirs["items"]] == ["Bob's"]

    for other in (as_bob, auth(Role.ADMIN, HIRE), auth(Role.SALES)):
        read = await client.get(f"{RULES}/{rule_id}", headers=other)
        assert read.status_code == 404 and read.json()["code"] == "rule_not_found"
        edit = await client.put(f"{RULES}/{rule_id}", json=rule(name="mine now"), headers=other)
        assert edit.status_code == 404
        assert (await client.delete(f"{RULES}/{rule_id}", headers=other)).status_code == 404
    kept = (await client.get(f"{RULES}/{rule_id}", headers=as_alice)).json()
    assert kept["name"] == "Acknowledge applications"


async def test_replace_and_soft_delete(client: AsyncTestClient[Any], auth: Auth) -> None:
    me = auth(Role.SALES)  # any signed-in user keeps rules
    rule_id = (await client.post(RULES, json=rule(), headers=me)).json()["id"]
    replaced = await client.put(
        f"{RULES}/{rule_id}",
        json={
            "name": "Offer chaser",
            "event": "OFFER_SENT",
            "actions": [{"type": "move_stage", "to": "OFFER"}],
            "is_active": False,
        },
        headers=me,
    )
    assert replaced.status_code == 200, replaced.text
    assert (replaced.json()["event"], replaced.json()["conditions"]) == ("OFFER_SENT", [])
    active = await client.get(RULES, params={"is_active": "true"}, headers=me)
    assert active.json()["total"] == 0
    by_event = await client.get(RULES, params={"event": "OFFER_SENT"}, headers=me)
    assert by_event.json()["total"] == 1
    assert (await client.delete(f"{RULES}/{rule_id}", headers=me)).status_code == 204
    assert (await client.get(f"{RULES}/{rule_id}", headers=me)).status_code == 404
    assert (await client.delete(f"{RULES}/{rule_id}", headers=me)).status_code == 404
    assert (await client.get(RULES, headers=me)).json()["total"] == 0


async def test_an_email_action_needs_one_of_the_owners_hire_templates(
    client: AsyncTestClient[Any], auth: Auth, sqlite_container: Any
) -> None:
    owner: User = await add_user(sqlite_container, Role.EXTERNAL_HR)
    mine = auth(user=owner, platform=HIRE)
    someone_elses = await hire_template(client, auth(Role.EXTERNAL_HR, HIRE), "theirs")
    crm = await client.post(
        "/api/sales/email-templates",
        json={"key": "crm", "name": "c", "subject": "s", "body_html": "b", "owner_scope": "GLOBAL"},
        headers=auth(Role.ADMIN),
    )
    for template_id in (someone_elses, crm.json()["id"], str(uuid.uuid4())):
        refused = await client.post(RULES, json=rule(template_id), headers=mine)
        assert refused.status_code == 422, refused.text
        problem = refused.json()
        assert problem["code"] == "invalid_rule"
        assert [e["field"] for e in problem["errors"]] == ["actions[0].template_id"]
    deleted = await hire_template(client, mine, "gone")
    await client.delete(f"{TEMPLATES}/{deleted}", headers=mine)
    assert (await client.post(RULES, json=rule(deleted), headers=mine)).status_code == 422
    assert (await client.get(RULES, headers=mine)).json()["total"] == 0
    # an administrator may name anyone's HIRE template in their own rule
    admin_rule = await client.post(RULES, json=rule(someone_elses), headers=auth(Role.ADMIN))
    assert admin_rule.status_code == 201


async def test_bad_rules_are_422(client: AsyncTestClient[Any], auth: Auth) -> None:
    me = auth(Role.EXTERNAL_HR, HIRE)
    for bad in (
        rule(actions=[]),
        rule(actions=[{"type": "webhook", "url": "http://x"}]),
        rule(actions=[{"type": "email"}]),
        rule(actions=[{"type": "move_stage", "to": "offer"}]),
        rule(event="NOT_AN_EVENT"),
        rule(name=""),
        rule(conditions=[{"field": "x", "op": "matches", "value": 1}]),
        rule(conditions=[{"field": "x", "op": "in", "value": "one"}]),
        rule(actions=[{"type": "move_stage", "to": "A"}, {"type": "move_stage", "to": "B"}]),
        {**rule(), "owner_id": str(uuid.uuid4())},
        rule(is_active=0),
        rule(is_active="true"),
    ):
        response = await client.post(RULES, json=bad, headers=me)
        assert response.status_code == 422, (bad, response.text)
    assert (await client.get(RULES, headers=me)).json()["total"] == 0
    missing = await client.put(f"{RULES}/{uuid.uuid4()}", json=rule(), headers=me)
    assert missing.status_code == 404


async def test_the_mr_hire_platform_rule_applies(client: AsyncTestClient[Any], auth: Auth) -> None:
    refused = await client.get(RULES, headers=auth(Role.USER, HIRE))
    assert refused.status_code == 403 and refused.json()["code"] == "platform_forbidden"
    assert (await client.get(RULES, headers=auth(Role.EXTERNAL_HR, HIRE))).status_code == 200
    assert (await client.get(RULES)).status_code == 401
