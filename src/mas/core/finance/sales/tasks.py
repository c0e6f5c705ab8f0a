"""The sales part's cron: discount requests expire (PENDING after 7 days undecided, APPROVED
past ``valid_until``), one predicate update each."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from mas.core.platform.tasking import NoArgs, Task, TaskPolicy

if TYPE_CHECKING:
    from mas.core.finance.sales import SalesServices

log = logging.getLogger("mas.finance.sales")

EXPIRE_DISCOUNTS = Task("finance.expire_discount_requests", NoArgs, TaskPolicy(attempts=2))


async def expire_discounts(sales: SalesServices, _: NoArgs) -> None:
    """Expire discount requests: PENDING after 7 days, APPROVED past valid_until."""
    count = await sales.discounts.expire()
    log.info("finance.discounts_expired", extra={"count": count})
