"""Workflow: the runs part. Built by its manifest part, ``mas.modules.workflow.runs``.

Exports the part's services (``RunsServices``), what builds them (``RunsPorts``,
``build_runs``) and its tasks (``HANDLERS``, ``CRONS``, ``SUBSCRIPTIONS``: handlers take
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
class RunsPorts:
    uow: UnitOfWorkFactory[UnitOfWork]  # TODO(helper): the part's own unit of work type
    clock: Clock


@dataclass(frozen=True)
class RunsServices:
    pass  # TODO(helper): the part's services


def build_runs(ports: RunsPorts) -> RunsServices:
    del ports
    return RunsServices()


HANDLERS: Sequence[Handler[RunsServices, Any]] = ()
CRONS: Mapping[Task[Any], str] = {}
SUBSCRIPTIONS: Sequence[Subscription[RunsServices, Any]] = ()
