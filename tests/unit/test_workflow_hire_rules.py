"""Mr. Hire's workflow rules on fakes: ownership (acceptance check 15), the checks of a rule,
soft delete, and the tagged-union grammar of actions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from mas.adapters.fakes.platform import FakeClock
from mas.adapters.fakes.workflow_hire import FakeHireTemplates, FakeHireUnitOfWork, InMemoryRules
from mas.core.identity.policy import Caller, Platform, Role
from mas.core.platform.errors import NotFound, ValidationFailed
from mas.core.platform.paging import PageRequest
from mas.core.workflow.hire import HirePorts, HireServices, build_hire
from mas.core.workflow.hire.model import (
    MAX_ACTIONS,
    EmailAction,
    MoveStageAction,
    RuleEvent,
    RuleFilter,
    RuleInput,
)

START = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
PAGE = PageRequest(1, 20)


def person(role: Role = Role.EXTERNAL_HR) -> Caller:
    return Caller(user_id=uuid.uuid4(), role=role, platform=Platform.MR_HIRE)


class World:
    def __init__(self) -> None:
        self.rules = InMemoryRules()
        self.uow = FakeHireUnitOfWork(self.rules)
        self.templates = FakeHireTemplates()
        self.clock = FakeClock(START)
        self.hire: HireServices = build_hire(
            HirePorts(uow=lambda: self.uow, clock=self.clock, templates=self.templates)
        )

    def template_of(self, caller: Caller) -> uuid.UUID:
        template_id = uuid.uuid4()
        self.templates.owned[template_id] = caller.user_id
        return template_id


@pytest.fixture
def world() -> World:
    return World()


def rule_input(**given: Any) -> RuleInput:
    values: dict[str, Any] = {
        "name": "Welcome applicants",
        "event": "APPLICATION_RECEIVED",
        "actions": [{"type": "move_stage", "to": "SCREENING"}],
        **given,
    }
    return msgspec.convert(values, RuleInput)


async def test_a_user_lists_and_reads_only_their_own_rules(world: World) -> None:
    """Acceptance check 15: listing shows one's own; another's rule is a 404 to read, replace
    or delete — administrators included."""
    alice, bob, admin = person(), person(), person(Role.ADMIN)
    mine = await world.hire.rules.create(alice, rule_input(name="Alice's"))
    await world.hire.rules.create(bob, rule_input(name="Bob's"))
    listed = await world.hire.rules.page(alice, RuleFilter(), PAGE)
    assert [rule.name for rule in listed.items] == ["Alice's"] and listed.total == 1
    assert (await world.hire.rules.get(alice, mine.id)).owner_id == alice.user_id
    for other in (bob, admin):
        with pytest.raises(NotFound):
            await world.hire.rules.get(other, mine.id)
        with pytest.raises(NotFound):
            await world.hire.rules.replace(other, mine.id, rule_input(name="taken over"))
        with pytest.raises(NotFound):
            await world.hire.rules.delete(other, mine.id)
    assert world.rules.rows[mine.id].name == "Alice's"


async def test_replace_keeps_owner_and_creation_and_moves_updated_at(world: World) -> None:
    alice = person()
    created = await world.hire.rules.create(alice, rule_input())
    world.clock.advance(minutes=5)
    replaced = await world.hire.rules.replace(
        alice,
        created.id,
        rule_input(name="Offer follow-up", event="OFFER_SENT", is_active=False),
    )
    assert (replaced.owner_id, replaced.created_at) == (alice.user_id, START)
    assert replaced.updated_at > START and replaced.event is RuleEvent.OFFER_SENT
    assert world.rules.rows[created.id] == replaced


async def test_delete_is_soft_and_hides_the_rule(world: World) -> None:
    alice = person()
    rule = await world.hire.rules.create(alice, rule_input())
    await world.hire.rules.delete(alice, rule.id)
    assert world.rules.rows[rule.id].deleted_at == START
    with pytest.raises(NotFound):
        await world.hire.rules.get(alice, rule.id)
    with pytest.raises(NotFound):
        await world.hire.rules.delete(alice, rule.id)
    assert (await world.hire.rules.page(alice, RuleFilter(), PAGE)).total == 0


async def test_filters(world: World) -> None:
    alice = person()
    await world.hire.rules.create(alice, rule_input(name="a"))
    await world.hire.rules.create(alice, rule_input(name="b", event="OFFER_SENT"))
    await world.hire.rules.create(alice, rule_input(name="c", is_active=False))
    by_event = await world.hire.rules.page(alice, RuleFilter(event=RuleEvent.OFFER_SENT), PAGE)
    assert [r.name for r in by_event.items] == ["b"]
    inactive = await world.hire.rules.page(alice, RuleFilter(is_active=False), PAGE)
    assert [r.name for r in inactive.items] == ["c"]


async def test_an_email_action_needs_a_hire_template_the_owner_may_use(world: World) -> None:
    alice, bob, admin = person(), person(), person(Role.ADMIN)
    hers, his = world.template_of(alice), world.template_of(bob)
    email = [{"type": "email", "template_id": str(hers)}]
    rule = await world.hire.rules.create(alice, rule_input(actions=email))
    assert rule.actions == [EmailAction(template_id=hers)]
    for template in (his, uuid.uuid4()):
        with pytest.raises(ValidationFailed) as refused:
            await world.hire.rules.create(
                alice, rule_input(actions=[*email, {"type": "email", "template_id": str(template)}])
            )
        assert refused.value.code == "invalid_rule"
        assert [e.field for e in refused.value.errors] == ["actions[1].template_id"]
    # an administrator may use anyone's HIRE template in their own rules
    await world.hire.rules.create(admin, rule_input(actions=email))
    # the check runs on replace too, and nothing changes when it fails
    with pytest.raises(ValidationFailed):
        await world.hire.rules.replace(
            alice, rule.id, rule_input(actions=[{"type": "email", "template_id": str(his)}])
        )
    assert world.rules.rows[rule.id].actions == [EmailAction(template_id=hers)]


async def test_one_move_stage_at_most(world: World) -> None:
    alice = person()
    two = [{"type": "move_stage", "to": "INTERVIEW"}, {"type": "move_stage", "to": "OFFER"}]
    with pytest.raises(ValidationFailed) as refused:
        await world.hire.rules.create(alice, rule_input(actions=two))
    assert [e.field for e in refused.value.errors] == ["actions[1]"]
    assert world.rules.rows == {}


@pytest.mark.parametrize(
    ("condition", "ok"),
    [
        ({"field": "application.source", "op": "eq", "value": "referral"}, True),
        ({"field": "candidate.experience_years", "op": "gt", "value": 3}, True),
        ({"field": "candidate.score", "op": "lt", "value": 7.5}, True),
        ({"field": "job.id", "op": "in", "value": ["a", "b"]}, True),
        ({"field": "candidate.resume", "op": "exists"}, True),
        ({"field": "candidate.resume", "op": "exists", "value": False}, True),
        ({"field": "job.id", "op": "in", "value": "a"}, False),
        ({"field": "job.id", "op": "not_in", "value": []}, False),
        ({"field": "job.id", "op": "eq", "value": ["a"]}, False),
        ({"field": "job.id", "op": "eq"}, False),
        ({"field": "candidate.score", "op": "gt", "value": "high"}, False),
        ({"field": "candidate.score", "op": "lt", "value": True}, False),
        ({"field": "candidate.resume", "op": "exists", "value": "yes"}, False),
    ],
)
async def test_a_condition_value_fits_its_operator(
    world: World, condition: dict[str, Any], ok: bool
) -> None:
    alice = person()
    data = rule_input(conditions=[condition])
    if ok:
        await world.hire.rules.create(alice, data)
        return
    with pytest.raises(ValidationFailed) as refused:
        await world.hire.rules.create(alice, data)
    assert [e.field for e in refused.value.errors] == ["conditions[0].value"]


@pytest.mark.parametrize(
    "bad",
    [
        {"actions": []},
        {"actions": [{"type": "sms", "body": "x"}]},
        {"actions": [{"type": "email"}]},
        {"actions": [{"type": "email", "template_id": "not-a-uuid"}]},
        {"actions": [{"type": "move_stage", "to": "lower case"}]},
        {"actions": [{"type": "move_stage", "to": "OFFER", "extra": 1}]},
        {"actions": [{"type": "move_stage", "to": "OFFER"}] * (MAX_ACTIONS + 1)},
        {"event": "JOB_CLOSED"},
        {"name": ""},
        {"name": "   "},
        {"name": "n" * 151},
        {"conditions": [{"field": "Bad Field", "op": "eq", "value": 1}]},
        {"conditions": [{"field": "a", "op": "regex", "value": ".*"}]},
        {"conditions": [{"field": "a", "op": "gt", "value": 10**13}]},
        {"conditions": [{"field": "a", "op": "eq", "value": "v" * 201}]},
        {"conditions": [{"field": "a", "op": "eq", "value": {"nested": 1}}]},
        {"conditions": [{"field": "a", "op": "exists"}] * 21},
        {"owner_id": str(uuid.uuid4())},
    ],
)
def test_the_grammar_refuses(bad: dict[str, Any]) -> None:
    with pytest.raises(msgspec.ValidationError):
        rule_input(**bad)


def test_actions_round_trip_as_a_tagged_union() -> None:
    template = uuid.uuid4()
    data = rule_input(
        actions=[
            {"type": "email", "template_id": str(template)},
            {"type": "move_stage", "to": "INTERVIEW"},
        ]
    )
    assert data.actions == [EmailAction(template_id=template), MoveStageAction(to="INTERVIEW")]
    assert msgspec.to_builtins(data.actions) == [
        {"type": "email", "template_id": str(template)},
        {"type": "move_stage", "to": "INTERVIEW"},
    ]
