"""Finance: the audit part — the append-only, hash-chained GST audit log and its daily chain check.
Built by its manifest part,
``mas.modules.finance.audit``.

Exports the part's services (``AuditServices``), what builds them (``AuditPorts``,
``build_audit``) and its tasks (``HANDLERS``, ``CRONS``, ``SUBSCRIPTIONS``: handlers take
the part's services; ``mas.core.finance.handlers`` binds them to the domain's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mas.core.finance.audit import tasks
from mas.core.finance.audit.ports import AuditUnitOfWork
from mas.core.finance.audit.trail import AuditLog, AuditTrail
from mas.core.platform.events import Subscription
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import UnitOfWorkFactory
from mas.core.platform.tasking import Handler, Task

__all__ = ["AuditLog", "AuditPorts", "AuditServices", "AuditTrail", "build_audit"]


@dataclass(frozen=True)
class AuditPorts:
    uow: UnitOfWorkFactory[AuditUnitOfWork]
    clock: Clock


@dataclass(frozen=True)
class AuditServices:
    trail: AuditTrail
    """Appends in the caller's unit of work: every finance part writes its audit rows here."""
    log: AuditLog


def build_audit(ports: AuditPorts) -> AuditServices:
    return AuditServices(trail=AuditTrail(ports.clock), log=AuditLog(ports.uow))


HANDLERS: Sequence[Handler[AuditServices, Any]] = (Handler(tasks.VERIFY_CHAIN, tasks.verify_chain),)
CRONS: Mapping[Task[Any], str] = {tasks.VERIFY_CHAIN: "50 2 * * *"}
SUBSCRIPTIONS: Sequence[Subscription[AuditServices, Any]] = ()
