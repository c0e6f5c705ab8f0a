"""What the hire part needs: its repository (typed view of the unit of work) and a way to ask
communications which HIRE email templates a user may use."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Protocol

from mas.core.identity.policy import Caller
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.uow import UnitOfWork
from mas.core.workflow.hire.model import HireRule, RuleFilter


class RuleRepository(Protocol):
    """Every read is scoped to the rule's owner: another user's rule is not found."""

    async def add(self, rule: HireRule) -> None: ...

    async def get(self, rule_id: uuid.UUID, owner_id: uuid.UUID) -> HireRule | None:
        """The owner's live (not deleted) rule."""
        ...

    async def save(self, rule: HireRule) -> None:
        """Write every field but ``id``, ``owner_id`` and ``created_at``."""
        ...

    async def page(self, owner_id: uuid.UUID, flt: RuleFilter, req: PageRequest) -> Page[HireRule]:
        """The owner's live rules, newest first."""
        ...


class HireUnitOfWork(UnitOfWork, Protocol):
    workflow_rules: RuleRepository


class HireTemplateDirectory(Protocol):
    """Communications' HIRE email templates (``CommsServices.mail.hire_templates``)."""

    async def usable(self, caller: Caller, template_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        """Which of ``template_ids`` are live HIRE templates ``caller`` may use."""
        ...
