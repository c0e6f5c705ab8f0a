"""Workflow: the hire part. Built by its manifest part, ``mas.modules.workflow.hire``.

Exports the part's services (``HireServices``), what builds them (``HirePorts``,
``build_hire``) and its tasks (``HANDLERS``, ``CRONS``, ``SUBSCRIPTIONS``: handlers take
the part's services; ``mas.core.workflow.handlers`` binds them to the domain's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mas.core.platform.events import Subscription
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import UnitOfWork, UnitOfWorkFactory
from mas.core.platform.tasking import Handler, Task


@dataclass(frozen=True)
class HirePorts:
    uow: UnitOfWorkFactory[UnitOfWork]  # TODO(helper): the part's own unit of work type
    clock: Clock


@dataclass(frozen=True)
class HireServices:
    pass  # TODO(helper): the part's services


def build_hire(ports: HirePorts) -> HireServices:
    del ports
    return HireServices()


HANDLERS: Sequence[Handler[HireServices, Any]] = ()
CRONS: Mapping[Task[Any], str] = {}
SUBSCRIPTIONS: Sequence[Subscription[HireServices, Any]] = ()
