"""Finance: the reports part — GSTR-1 and revenue reports, the dashboard figures, password-protected
exports, the finance team. Built by its manifest part,
``mas.modules.finance.reports``.

Exports the part's services (``ReportServices``), what builds them (``ReportPorts``,
``build_reports``) and its tasks (``HANDLERS``, ``CRONS``, ``SUBSCRIPTIONS``: handlers take
the part's services; ``mas.core.finance.handlers`` binds them to the domain's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mas.core.finance.reports import handlers
from mas.core.finance.reports.services import ReportPorts, ReportServices, build_reports
from mas.core.platform.events import Subscription
from mas.core.platform.tasking import Handler, Task

HANDLERS: Sequence[Handler[ReportServices, Any]] = handlers.HANDLERS
CRONS: Mapping[Task[Any], str] = handlers.CRONS
SUBSCRIPTIONS: Sequence[Subscription[ReportServices, Any]] = ()

__all__ = [
    "CRONS",
    "HANDLERS",
    "SUBSCRIPTIONS",
    "ReportPorts",
    "ReportServices",
    "build_reports",
]
