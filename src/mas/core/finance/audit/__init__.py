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

from mas.core.platform.events import Subscription
from mas.core.platform.tasking import Handler, Task


@dataclass(frozen=True)
class AuditPorts:
    pass


@dataclass(frozen=True)
class AuditServices:
    pass


def build_audit(ports: AuditPorts) -> AuditServices:
    return AuditServices()


HANDLERS: Sequence[Handler[AuditServices, Any]] = ()
CRONS: Mapping[Task[Any], str] = {}
SUBSCRIPTIONS: Sequence[Subscription[AuditServices, Any]] = ()
