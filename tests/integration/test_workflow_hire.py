"""Mr. Hire's workflow rules and HIRE email templates on SQLite and PostgreSQL: the JSON of
conditions and actions as stored, ownership scoping in SQL, paging and filters, soft delete,
and the rule's check against communications' templates."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import pytest
from sqlalchemy import select

from mas.adapters.db.workflow.hire_tables import workflow_rules
from mas.core.comms.mail.hire_templates import HireTemplate
from mas.core.identity.policy import Caller, Platform, Role
from mas.core.platform.errors import Conflict, NotFound, ValidationFailed
from mas.core.platform.paging import PageRequest
from mas.core.workflow.hire.model import EmailAction, RuleEvent, RuleFilter, RuleInput
from tests.integration.crm_fixtures import add_person


async def recruiter(c: Any, role: Role = Role.EXTERNAL_HR) -> Caller:
    user = await add_person(c, role, "Recruiter")
    return Caller(user_id=user.id, role=role, platform=Platform.MR_HIRE)


def rule_input(template_id: uuid.UUID | None = None, **given: Any) -> RuleInput:
    actions: list[dict[str, Any]] = [{"type": "move_stage", "to": "INTERVIEW"}]
    if template_id is not None:
        actions.append({"type": "email", "template_id": str(template_id)})
    values = {
        "name": "Invite shortlisted",
        "event": "STAGE_CHANGED",
        "conditions": [
            {"field": "stage.to", "op": "eq", "value": "SHORTLISTED"},
            {"field": "candidate.score", "op": "gt", "value": 7.5},
            {"field": "job.id", "op": "not_in", "value": ["a", "b"]},
            {"field": "candidate.resume", "op": "exists"},
        ],
        "actions": actions,
        **given,
    }
    return msgspec.convert(values, RuleInput)


async def hire_template(c: Any, caller: Caller, key: str) -> uuid.UUID:
    created = await c.comms.mail.hire_templates.create(
        caller, HireTemplate(key=key, name=key, subject="Hi", body_html="<p>Hi</p>")
    )
    template_id: uuid.UUID = created.id
    return template_id


async def test_a_rule_round_trips_through_the_database(container: Any) -> None:
    alice = await recruiter(container)
    template_id = await hire_template(container, alice, "invite")
    rules = container.workflow.hire.rules
    created = await rules.create(alice, rule_input(template_id))
    read = await rules.get(alice, created.id)
    assert read == created
    assert read.actions[1] == EmailAction(template_id=template_id)
    async with container.uow() as uow:
        row = (
            await uow.session.execute(select(workflow_rules.c.actions, workflow_rules.c.conditions))
        ).one()
    assert row.actions == [
        {"type": "move_stage", "to": "INTERVIEW"},
        {"type": "email", "template_id": str(template_id)},
    ]
    assert row.conditions[1] == {"field": "candidate.score", "op": "gt", "value": 7.5}


async def test_ownership_paging_filters_and_soft_delete(container: Any) -> None:
    """Acceptance check 15 in SQL: the owner's rules only, another's rule is not found."""
    alice, bob = await recruiter(container), await recruiter(container, Role.SALES)
    rules = container.workflow.hire.rules
    made = [
        await rules.create(alice, rule_input(name=f"rule {n}", is_active=n != 2)) for n in range(3)
    ]
    await rules.create(alice, rule_input(name="offer", event="OFFER_SENT"))
    theirs = await rules.create(bob, rule_input(name="bob's"))

    page = await rules.page(alice, RuleFilter(), PageRequest(1, 2))
    assert page.total == 4 and [r.name for r in page.items] == ["offer", "rule 2"]
    second = await rules.page(alice, RuleFilter(), PageRequest(2, 2))
    assert [r.name for r in second.items] == ["rule 1", "rule 0"]
    offers = await rules.page(alice, RuleFilter(event=RuleEvent.OFFER_SENT), PageRequest(1, 20))
    assert [r.name for r in offers.items] == ["offer"]
    inactive = await rules.page(alice, RuleFilter(is_active=False), PageRequest(1, 20))
    assert [r.name for r in inactive.items] == ["rule 2"]

    with pytest.raises(NotFound):
        await rules.get(alice, theirs.id)
    with pytest.raises(NotFound):
        await rules.replace(alice, theirs.id, rule_input(name="taken"))
    with pytest.raises(NotFound):
        await rules.delete(alice, theirs.id)
    assert (await rules.get(bob, theirs.id)).name == "bob's"

    await rules.delete(alice, made[0].id)
    with pytest.raises(NotFound):
        await rules.get(alice, made[0].id)
    assert (await rules.page(alice, RuleFilter(), PageRequest(1, 20))).total == 3
    async with container.uow() as uow:
        deleted_at = (
            await uow.session.execute(
                select(workflow_rules.c.deleted_at).where(workflow_rules.c.id == made[0].id)
            )
        ).scalar_one()
    assert deleted_at is not None


async def test_replace_writes_every_field(container: Any) -> None:
    alice = await recruiter(container)
    rules = container.workflow.hire.rules
    created = await rules.create(alice, rule_input())
    replaced = await rules.replace(
        alice,
        created.id,
        msgspec.convert(
            {
                "name": "Renamed",
                "event": "INTERVIEW_SCHEDULED",
                "actions": [{"type": "move_stage", "to": "INTERVIEWING"}],
                "is_active": False,
            },
            RuleInput,
        ),
    )
    read = await rules.get(alice, created.id)
    assert read == replaced
    assert (read.name, read.event, read.conditions, read.is_active) == (
        "Renamed",
        RuleEvent.INTERVIEW_SCHEDULED,
        [],
        False,
    )
    assert (read.owner_id, read.created_at) == (alice.user_id, created.created_at)


async def test_the_email_action_is_checked_against_communications(container: Any) -> None:
    alice, bob = await recruiter(container), await recruiter(container)
    hers, his = (
        await hire_template(container, alice, "hers"),
        await hire_template(container, bob, "his"),
    )
    rules = container.workflow.hire.rules
    await rules.create(alice, rule_input(hers))
    with pytest.raises(ValidationFailed) as refused:
        await rules.create(alice, rule_input(his))
    assert [e.field for e in refused.value.errors] == ["actions[1].template_id"]
    await container.comms.mail.hire_templates.delete(alice, hers)
    with pytest.raises(ValidationFailed):
        await rules.create(alice, rule_input(hers))


async def test_hire_templates_belong_to_their_writer(container: Any) -> None:
    alice, bob = await recruiter(container), await recruiter(container)
    admin = await recruiter(container, Role.ADMIN)
    templates = container.comms.mail.hire_templates
    hers = await hire_template(container, alice, "a-1")
    await hire_template(container, alice, "a-2")
    await hire_template(container, bob, "b-1")
    listed = await templates.page(alice, PageRequest(1, 20))
    assert [t.key for t in listed.items] == ["a-1", "a-2"]
    assert (await templates.page(admin, PageRequest(1, 20))).total == 3
    with pytest.raises(NotFound):
        await templates.get(bob, hers)
    assert (await templates.get(admin, hers)).key == "a-1"
    with pytest.raises(Conflict):
        await hire_template(container, bob, "a-1")
    assert await templates.usable(alice, [hers, uuid.uuid4()]) == {hers}
    assert await templates.usable(bob, [hers]) == set()
    assert await templates.usable(admin, [hers]) == {hers}
