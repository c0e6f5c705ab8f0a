"""The earnings part's crons: ask RazorpayX about payouts under way (the webhook's safety
net), and mail the ADMINs the day's digest of withdrawals waiting for payment.

``earnings.sweep_uncredited`` is the mentorship domain's (``mas.core.mentorship.meetings.sweep``):
it reads and flags completed slots, that domain's rows, and credits through
``EarningsServices.credit_meeting``, as the completion itself does.
"""

from __future__ import annotations

import logging

from mas.core.platform.tasking import Handler, NoArgs, Task, TaskPolicy
from mas.core.tokens.earnings.services import EarningsServices

log = logging.getLogger("mas.tokens.earnings")

POLL_PAYOUTS = Task("earnings.poll_payouts", NoArgs, TaskPolicy(attempts=1, timeout_s=600))
WITHDRAWAL_DIGEST = Task("earnings.withdrawal_digest", NoArgs, TaskPolicy(attempts=3))


async def poll_payouts(earnings: EarningsServices, _: NoArgs) -> None:
    """Idempotent: a settled withdrawal is never moved again (CAS on its status)."""
    changed = await earnings.withdrawals.poll()
    log.info("earnings.payouts_polled", extra={"changed": changed})


async def withdrawal_digest(earnings: EarningsServices, _: NoArgs) -> None:
    """Idempotent: one mail per admin per day (keyed by the day and the admin)."""
    await earnings.digest.send()


HANDLERS = [Handler(POLL_PAYOUTS, poll_payouts), Handler(WITHDRAWAL_DIGEST, withdrawal_digest)]
CRONS = {POLL_PAYOUTS: "*/15 * * * *", WITHDRAWAL_DIGEST: "0 9 * * *"}
