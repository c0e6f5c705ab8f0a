"""The earnings part's cron: ask RazorpayX about payouts under way (the webhook's safety net).

There is no ``earnings.sweep_uncredited`` cron yet: it would read completed slots, which the
mentorship domain does not have yet; that domain calls ``EarningsServices.credit_meeting`` in
the transaction that completes a meeting, and its sweep can call the same method.
"""

from __future__ import annotations

import logging

from mas.core.platform.tasking import Handler, NoArgs, Task, TaskPolicy
from mas.core.tokens.earnings.services import EarningsServices

log = logging.getLogger("mas.tokens.earnings")

POLL_PAYOUTS = Task("earnings.poll_payouts", NoArgs, TaskPolicy(attempts=1, timeout_s=600))


async def poll_payouts(earnings: EarningsServices, _: NoArgs) -> None:
    """Idempotent: a settled withdrawal is never moved again (CAS on its status)."""
    changed = await earnings.withdrawals.poll()
    log.info("earnings.payouts_polled", extra={"changed": changed})


HANDLERS = [Handler(POLL_PAYOUTS, poll_payouts)]
CRONS = {POLL_PAYOUTS: "*/15 * * * *"}
