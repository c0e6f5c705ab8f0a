"""In-memory fakes of the workflow hire part's ports: the rules' repository, its unit of work
(rolls back unless committed) and communications' HIRE templates."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Self

import msgspec

from mas.core.identity.policy import Caller
from mas.core.platform.events import DomainEvent
from mas.core.platform.messages import OutboxMessage
from mas.core.platform.paging import Page, PageRequest
from mas.core.workflow.hire.model import HireRule, RuleFilter
from mas.core.workflow.hire.ports import RuleRepository


class InMemoryRules:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, HireRule] = {}

    async def add(self, rule: HireRule) -> None:
        self.rows[rule.id] = rule

    async def get(self, rule_id: uuid.UUID, owner_id: uuid.UUID) -> HireRule | None:
        rule = self.rows.get(rule_id)
        if rule is None or rule.owner_id != owner_id or rule.deleted_at is not None:
            return None
        return rule

    async def save(self, rule: HireRule) -> None:
        before = self.rows[rule.id]
        self.rows[rule.id] = msgspec.structs.replace(
            rule, owner_id=before.owner_id, created_at=before.created_at
        )

    async def page(self, owner_id: uuid.UUID, flt: RuleFilter, req: PageRequest) -> Page[HireRule]:
        found = [
            rule
            for rule in self.rows.values()
            if rule.owner_id == owner_id
            and rule.deleted_at is None
            and (flt.event is None or rule.event is flt.event)
            and (flt.is_active is None or rule.is_active is flt.is_active)
        ]
        found.sort(key=lambda rule: (rule.created_at, rule.id), reverse=True)
        items = found[req.offset : req.offset + req.page_size]
        return Page(items=items, total=len(found), page=req.page, page_size=req.page_size)


class FakeHireUnitOfWork:
    """``HireUnitOfWork`` over one ``InMemoryRules``: writes are undone unless committed."""

    def __init__(self, rules: InMemoryRules) -> None:
        self.rules = rules
        self.workflow_rules: RuleRepository = rules
        self.commits = 0
        self._before: dict[uuid.UUID, HireRule] = {}
        self.events: list[DomainEvent] = []

    async def __aenter__(self) -> Self:
        self._before = dict(self.rules.rows)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.rollback()

    async def commit(self) -> None:
        self._before = dict(self.rules.rows)
        self.commits += 1

    async def rollback(self) -> None:
        self.rules.rows = dict(self._before)

    def record(self, event: DomainEvent) -> None:
        self.events.append(event)

    async def send(self, message: OutboxMessage) -> uuid.UUID:
        return message.id


class FakeHireTemplates:
    """HIRE templates by owner: ``owned[template_id] = owner_id``; admins use any."""

    def __init__(self) -> None:
        self.owned: dict[uuid.UUID, uuid.UUID] = {}

    async def usable(self, caller: Caller, template_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        return {
            template_id
            for template_id in template_ids
            if template_id in self.owned
            and (caller.is_admin or self.owned[template_id] == caller.user_id)
        }


if TYPE_CHECKING:  # mypy holds every fake to its port
    from mas.core.workflow.hire.ports import HireTemplateDirectory, HireUnitOfWork

    _uow: HireUnitOfWork = FakeHireUnitOfWork(InMemoryRules())
    _templates: HireTemplateDirectory = FakeHireTemplates()
