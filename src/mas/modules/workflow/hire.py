"""The workflow manifest's hire part: its table, repository, routes, and how its services are
built. The rules' email templates are communications' (its mail part serves
``/api/mr-hire/workflow/email-templates``); ``CommsHireTemplates`` reaches them through
``CommsServices.mail.hire_templates``, looked up per call (communications is built first)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from mas.adapters.db.workflow.hire import SqlRuleRepository
from mas.core.identity.policy import Caller
from mas.core.workflow.hire import HirePorts, HireServices, build_hire
from mas.core.workflow.hire.ports import HireTemplateDirectory
from mas.modules.container import Container

TABLES: list[str] = ["mas.adapters.db.workflow.hire_tables"]
REPOSITORIES: dict[str, Any] = {"workflow_rules": SqlRuleRepository}
CONTROLLERS: list[str] = ["mas.http.workflow.hire:HireRuleController"]
MAIL_TEMPLATES: dict[str, Any] = {}


class CommsHireTemplates(HireTemplateDirectory):
    def __init__(self, c: Container) -> None:
        self._c = c

    async def usable(self, caller: Caller, template_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        found: set[uuid.UUID] = await self._c.comms.mail.hire_templates.usable(caller, template_ids)
        return found


def build(c: Container) -> HireServices:
    return build_hire(HirePorts(uow=c.uow, clock=c.clock, templates=CommsHireTemplates(c)))
