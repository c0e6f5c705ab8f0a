"""The purchases part's cron: complete paid purchases whose buyer never came back, fail the
ones left unpaid (tokens-earnings.md §6)."""

from __future__ import annotations

import logging

from mas.core.platform.tasking import Handler, NoArgs, Task, TaskPolicy
from mas.core.tokens.purchases.services import PurchaseServices

log = logging.getLogger("mas.tokens.purchases")

RECONCILE = Task(
    "tokens.reconcile_pending_purchases", NoArgs, TaskPolicy(attempts=2, timeout_s=300)
)


async def reconcile(purchases: PurchaseServices, _: NoArgs) -> None:
    """Idempotent: each status change is a compare-and-set and each credit is keyed."""
    report = await purchases.reconciler.run()
    log.info(
        "tokens.purchases_reconciled",
        extra={"checked": report.checked, "completed": report.completed, "failed": report.failed},
    )


HANDLERS = [Handler(RECONCILE, reconcile)]
CRONS = {RECONCILE: "*/15 * * * *"}
