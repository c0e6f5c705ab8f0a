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

from mas.core.finance.sales import tasks
from mas.core.finance.sales.costs import CostLedger
from mas.core.finance.sales.discounts import DiscountRequests
from mas.core.finance.sales.ports import (
    BatchFees,
    JobOwners,
    NoBatchFees,
    NoJobs,
    SalesUnitOfWork,
)
from mas.core.platform.events import Subscription
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import UnitOfWorkFactory
from mas.core.platform.tasking import Handler, Task


@dataclass(frozen=True)
class SalesPorts:
    uow: UnitOfWorkFactory[SalesUnitOfWork]
    clock: Clock
    batches: BatchFees = NoBatchFees()
    jobs: JobOwners = NoJobs()


@dataclass(frozen=True)
class SalesServices:
    discounts: DiscountRequests
    costs: CostLedger


def build_sales(ports: SalesPorts) -> SalesServices:
    return SalesServices(
        discounts=DiscountRequests(ports.uow, ports.clock, ports.batches),
        costs=CostLedger(ports.uow, ports.clock, ports.jobs),
    )


HANDLERS: Sequence[Handler[SalesServices, Any]] = (
    Handler(tasks.EXPIRE_DISCOUNTS, tasks.expire_discounts),
)
CRONS: Mapping[Task[Any], str] = {tasks.EXPIRE_DISCOUNTS: "10 3 * * *"}
SUBSCRIPTIONS: Sequence[Subscription[SalesServices, Any]] = ()
