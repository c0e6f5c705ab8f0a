"""Workflow: the hire part (Mr. Hire's workflow rules, workflow.md §3). Built by its manifest
part, ``mas.modules.workflow.hire``.

Exports the part's services (``HireServices``), what builds them (``HirePorts``,
``build_hire``) and its tasks (``HANDLERS``, ``CRONS``, ``SUBSCRIPTIONS``: none; the rules are
configuration, run by the Mr. Hire domain). Inside: ``model`` (the rule, its tagged actions and
conditions), ``ports``, ``rules`` (the CRUD and its checks). The rules' email templates are
communications' (``/api/mr-hire/workflow/email-templates``), reached through
``HireTemplateDirectory``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mas.core.platform.events import Subscription
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import UnitOfWorkFactory
from mas.core.platform.tasking import Handler, Task
from mas.core.workflow.hire.ports import HireTemplateDirectory, HireUnitOfWork
from mas.core.workflow.hire.rules import RuleService


@dataclass(frozen=True)
class HirePorts:
    uow: UnitOfWorkFactory[HireUnitOfWork]
    clock: Clock
    templates: HireTemplateDirectory


@dataclass(frozen=True)
class HireServices:
    rules: RuleService


def build_hire(ports: HirePorts) -> HireServices:
    return HireServices(
        rules=RuleService(uow=ports.uow, clock=ports.clock, templates=ports.templates)
    )


HANDLERS: Sequence[Handler[HireServices, Any]] = ()
CRONS: Mapping[Task[Any], str] = {}
SUBSCRIPTIONS: Sequence[Subscription[HireServices, Any]] = ()
