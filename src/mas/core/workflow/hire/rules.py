"""Mr. Hire's workflow rules: list, create, read, replace, soft-delete (workflow.md §3, §7).

Any signed-in user keeps rules of their own; every read and write is scoped to the caller as
owner, administrators included, so another user's rule is a 404 (acceptance check 15), never a
403 that would confirm it exists. A rule is checked as a whole before it is written (422
``invalid_rule`` naming every problem): each email action's template must be a live HIRE
template the caller may use (communications decides which), one ``move_stage`` at most, and
each condition's value must fit its operator.
"""

from __future__ import annotations

import uuid

import msgspec

from mas.core.identity.policy import Caller
from mas.core.platform.errors import FieldError, NotFound, ValidationFailed
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import UnitOfWorkFactory
from mas.core.workflow.hire.model import (
    LIST_OPS,
    Condition,
    EmailAction,
    HireRule,
    MoveStageAction,
    RuleFilter,
    RuleInput,
)
from mas.core.workflow.hire.ports import HireTemplateDirectory, HireUnitOfWork


class RuleService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory[HireUnitOfWork],
        clock: Clock,
        templates: HireTemplateDirectory,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._templates = templates

    async def page(self, caller: Caller, flt: RuleFilter, req: PageRequest) -> Page[HireRule]:
        async with self._uow() as uow:
            return await uow.workflow_rules.page(caller.user_id, flt, req)

    async def get(self, caller: Caller, rule_id: uuid.UUID) -> HireRule:
        async with self._uow() as uow:
            return await _own(uow, caller, rule_id)

    async def create(self, caller: Caller, data: RuleInput) -> HireRule:
        await self._check(caller, data)
        now = self._clock.now()
        rule = HireRule(
            id=uuid7(),
            owner_id=caller.user_id,
            name=data.name,
            event=data.event,
            conditions=list(data.conditions),
            actions=list(data.actions),
            is_active=data.is_active,
            created_at=now,
            updated_at=now,
        )
        async with self._uow() as uow:
            await uow.workflow_rules.add(rule)
            await uow.commit()
        return rule

    async def replace(self, caller: Caller, rule_id: uuid.UUID, data: RuleInput) -> HireRule:
        async with self._uow() as uow:
            await _own(uow, caller, rule_id)  # someone else's rule: 404 before any 422
        await self._check(caller, data)
        async with self._uow() as uow:
            rule = msgspec.structs.replace(
                await _own(uow, caller, rule_id),
                name=data.name,
                event=data.event,
                conditions=list(data.conditions),
                actions=list(data.actions),
                is_active=data.is_active,
                updated_at=self._clock.now(),
            )
            await uow.workflow_rules.save(rule)
            await uow.commit()
        return rule

    async def delete(self, caller: Caller, rule_id: uuid.UUID) -> None:
        async with self._uow() as uow:
            rule = await _own(uow, caller, rule_id)
            now = self._clock.now()
            await uow.workflow_rules.save(
                msgspec.structs.replace(rule, deleted_at=now, updated_at=now)
            )
            await uow.commit()

    async def _check(self, caller: Caller, data: RuleInput) -> None:
        errors = [
            *_condition_errors(data.conditions),
            *await self._action_errors(caller, data.actions),
        ]
        if errors:
            raise ValidationFailed(
                "The rule cannot be saved as written", code="invalid_rule", errors=errors
            )

    async def _action_errors(
        self, caller: Caller, actions: list[EmailAction | MoveStageAction]
    ) -> list[FieldError]:
        wanted = [a.template_id for a in actions if isinstance(a, EmailAction)]
        usable = await self._templates.usable(caller, wanted) if wanted else set()
        errors: list[FieldError] = []
        moves = 0
        for index, action in enumerate(actions):
            if isinstance(action, EmailAction) and action.template_id not in usable:
                errors.append(
                    FieldError(
                        f"actions[{index}].template_id",
                        f"no Mr. Hire email template {action.template_id} of yours",
                    )
                )
            if isinstance(action, MoveStageAction):
                moves += 1
                if moves > 1:
                    errors.append(
                        FieldError(f"actions[{index}]", "a rule moves to one stage at most")
                    )
        return errors


def _condition_errors(conditions: list[Condition]) -> list[FieldError]:
    errors: list[FieldError] = []
    for index, condition in enumerate(conditions):
        problem = _value_problem(condition)
        if problem is not None:
            errors.append(FieldError(f"conditions[{index}].value", problem))
    return errors


def _value_problem(condition: Condition) -> str | None:
    value = condition.value
    if condition.op in LIST_OPS:
        return None if isinstance(value, list) and value else f"'{condition.op}' takes a list"
    if condition.op == "exists":
        return None if value is None or isinstance(value, bool) else "'exists' takes true/false"
    if isinstance(value, list) or value is None:
        return f"'{condition.op}' takes one value"
    if condition.op in ("gt", "lt") and (isinstance(value, bool) or isinstance(value, str)):
        return f"'{condition.op}' takes a number"
    return None


async def _own(uow: HireUnitOfWork, caller: Caller, rule_id: uuid.UUID) -> HireRule:
    rule = await uow.workflow_rules.get(rule_id, caller.user_id)
    if rule is None:
        raise NotFound(f"no rule {rule_id} of yours", code="rule_not_found")
    return rule
