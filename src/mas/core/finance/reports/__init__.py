"""Finance: the reports part — GSTR-1 and revenue reports, the dashboard figures, password-protected
exports, the finance team. Built by its manifest part,
``mas.modules.finance.reports``.

Exports the part's services (``ReportServices``), what builds them (``ReportPorts``,
``build_reports``) and its tasks (``HANDLERS``, ``CRONS``, ``SUBSCRIPTIONS``: handlers take
the part's services; ``mas.core.finance.handlers`` binds them to the domain's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mas.core.platform.events import Subscription
from mas.core.platform.tasking import Handler, Task


@dataclass(frozen=True)
class ReportPorts:
    pass


@dataclass(frozen=True)
class ReportServices:
    pass


def build_reports(ports: ReportPorts) -> ReportServices:
    return ReportServices()


HANDLERS: Sequence[Handler[ReportServices, Any]] = ()
CRONS: Mapping[Task[Any], str] = {}
SUBSCRIPTIONS: Sequence[Subscription[ReportServices, Any]] = ()
