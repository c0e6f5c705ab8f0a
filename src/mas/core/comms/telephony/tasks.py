"""Telephony's cron: resolve calls whose completion callback never came, resend SMS the
provider never took (communications.md §7, ``comms.exotel.reconcile``)."""

from __future__ import annotations

import logging

from mas.core.comms.telephony.services import TelephonyServices
from mas.core.platform.tasking import Handler, NoArgs, Task, TaskPolicy

log = logging.getLogger("mas.comms.telephony")

RECONCILE = Task("comms.exotel.reconcile", NoArgs, TaskPolicy(attempts=1, timeout_s=300))


async def reconcile(telephony: TelephonyServices, _: NoArgs) -> None:
    """Idempotent: a finished call is never rewritten, a sent SMS never sent again."""
    calls = await telephony.calls.reconcile()
    sms = await telephony.sms.resend()
    log.info("telephony.reconciled", extra={"calls_changed": calls, "sms_sent": sms})


HANDLERS = [Handler(RECONCILE, reconcile)]
CRONS = {RECONCILE: "*/10 * * * *"}
