"""Telephony's cron: resolve calls whose completion callback never came, resend SMS the
provider never took (communications.md §7, ``comms.exotel.reconcile``)."""

from __future__ import annotations

import logging
from datetime import timedelta

from mas.core.comms.telephony.services import TelephonyServices
from mas.core.platform.tasking import Handler, NoArgs, Task, TaskPolicy

log = logging.getLogger("mas.comms.telephony")

RECONCILE = Task("comms.exotel.reconcile", NoArgs, TaskPolicy(attempts=1, timeout_s=300))
LOG_RETENTION = Task("comms.exotel.log_retention", NoArgs, TaskPolicy(attempts=2, timeout_s=600))
KEEP = timedelta(days=180)


async def reconcile(telephony: TelephonyServices, _: NoArgs) -> None:
    """Idempotent: a finished call is never rewritten, a sent SMS never sent again."""
    calls = await telephony.calls.reconcile()
    sms = await telephony.sms.resend()
    log.info("telephony.reconciled", extra={"calls_changed": calls, "sms_sent": sms})


async def log_retention(telephony: TelephonyServices, _: NoArgs) -> None:
    """Exotel's raw callbacks are kept 180 days (the call's own fields stay)."""
    dropped = await telephony.calls.drop_raw_callbacks(KEEP)
    log.info("telephony.retention", extra={"raw_callbacks": dropped})


HANDLERS = [Handler(RECONCILE, reconcile), Handler(LOG_RETENTION, log_retention)]
CRONS = {RECONCILE: "*/10 * * * *", LOG_RETENTION: "30 3 * * 0"}
