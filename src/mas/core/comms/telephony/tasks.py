"""Telephony's tasks (communications.md §7): the reconcile cron (``comms.exotel.reconcile``:
resolve calls whose completion callback never came, resend SMS the provider never took), log
retention, and the send of an SMS the messenger queued. ``handlers`` binds them."""

from __future__ import annotations

import uuid

import msgspec

from mas.core.platform.tasking import NoArgs, Task, TaskPolicy


class SmsRef(msgspec.Struct, frozen=True):
    sms_id: uuid.UUID


RECONCILE = Task("comms.exotel.reconcile", NoArgs, TaskPolicy(attempts=1, timeout_s=300))
LOG_RETENTION = Task("comms.exotel.log_retention", NoArgs, TaskPolicy(attempts=2, timeout_s=600))
SEND_SMS = Task(
    "comms.sms.send",
    SmsRef,
    # One try per run: an outage leaves the row QUEUED for the reconcile sweep, which counts
    # the attempts on the row (``MAX_ATTEMPTS``), so the runner does not retry on top of it.
    TaskPolicy(attempts=1, timeout_s=60),
    key=lambda m: str(m.sms_id),
)
