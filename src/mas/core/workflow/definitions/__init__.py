"""Workflow: the definitions part. Built by its manifest part, ``mas.modules.workflow.definitions``.

Exports the part's services (``DefinitionsServices``), what builds them (``DefinitionsPorts``,
``build_definitions``) and its tasks (``HANDLERS``, ``CRONS``, ``SUBSCRIPTIONS``: handlers take
the part's services; ``mas.core.workflow.handlers`` binds them to the domain's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mas.core.platform.events import Subscription
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import UnitOfWorkFactory
from mas.core.platform.tasking import Handler, Task
from mas.core.workflow.definitions.ports import DefinitionsUnitOfWork, TemplateCatalog
from mas.core.workflow.definitions.workflows import Workflows


@dataclass(frozen=True)
class DefinitionsPorts:
    uow: UnitOfWorkFactory[DefinitionsUnitOfWork]
    clock: Clock
    templates: TemplateCatalog


@dataclass(frozen=True)
class DefinitionsServices:
    workflows: Workflows


def build_definitions(ports: DefinitionsPorts) -> DefinitionsServices:
    return DefinitionsServices(workflows=Workflows(ports.uow, ports.clock, ports.templates))


HANDLERS: Sequence[Handler[DefinitionsServices, Any]] = ()
CRONS: Mapping[Task[Any], str] = {}
SUBSCRIPTIONS: Sequence[Subscription[DefinitionsServices, Any]] = ()
