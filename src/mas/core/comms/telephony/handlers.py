"""What runs telephony's tasks and reacts to its events (handlers take the part's services)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from mas.core.comms.telephony.events import SmsQueued
from mas.core.comms.telephony.services import TelephonyServices
from mas.core.comms.telephony.tasks import LOG_RETENTION, RECONCILE, SEND_SMS, SmsRef
from mas.core.platform.events import Subscription
from mas.core.platform.tasking import Handler, NoArgs, Task

log = logging.getLogger("mas.comms.telephony")

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


async def send_sms(telephony: TelephonyServices, message: SmsRef) -> None:
    """Send a QUEUED SMS the messenger wrote (nothing for any other state)."""
    await telephony.sms.deliver(message.sms_id)


async def sms_queued(telephony: TelephonyServices, event: SmsQueued) -> None:
    await telephony.sms.submit(event.sms_id)


HANDLERS: list[Handler[TelephonyServices, Any]] = [
    Handler(RECONCILE, reconcile),
    Handler(LOG_RETENTION, log_retention),
    Handler(SEND_SMS, send_sms),
]
CRONS: dict[Task[Any], str] = {RECONCILE: "*/10 * * * *", LOG_RETENTION: "30 3 * * 0"}
SUBSCRIPTIONS: list[Subscription[TelephonyServices, Any]] = [Subscription(SmsQueued, sms_queued)]
