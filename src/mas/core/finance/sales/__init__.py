"""Finance: the sales part — discount requests (SALES asks, ADMIN decides) and the pipeline cost
ledger. Built by its manifest part,
``mas.modules.finance.sales``.

Exports the part's services (``SalesServices``), what builds them (``SalesPorts``,
``build_sales``) and its tasks (``HANDLERS``, ``CRONS``, ``SUBSCRIPTIONS``: handlers take
the part's services; ``mas.core.finance.handlers`` binds them to the domain's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mas.core.platform.events import Subscription
from mas.core.platform.tasking import Handler, Task


@dataclass(frozen=True)
class SalesPorts:
    pass


@dataclass(frozen=True)
class SalesServices:
    pass


def build_sales(ports: SalesPorts) -> SalesServices:
    return SalesServices()


HANDLERS: Sequence[Handler[SalesServices, Any]] = ()
CRONS: Mapping[Task[Any], str] = {}
SUBSCRIPTIONS: Sequence[Subscription[SalesServices, Any]] = ()
