"""WhatsApp's background tasks (communications.md §7)."""

from __future__ import annotations

import uuid

import msgspec

from mas.core.platform.tasking import NoArgs, Task, TaskPolicy


class MessageRef(msgspec.Struct, frozen=True):
    message_id: uuid.UUID


class ReminderRef(msgspec.Struct, frozen=True):
    reminder_id: uuid.UUID


SEND = Task(
    "comms.whatsapp.send",
    MessageRef,
    # The first attempt and three retries of a provider that is down, then FAILED (portal).
    TaskPolicy(attempts=4, backoff_s=30, timeout_s=60),
    key=lambda m: str(m.message_id),
)
REMINDER = Task(
    "comms.whatsapp.reminder",
    ReminderRef,
    TaskPolicy(attempts=3, backoff_s=30, timeout_s=60),
    key=lambda m: str(m.reminder_id),
)
TEMPLATE_SYNC = Task(
    "comms.whatsapp.template_sync", NoArgs, TaskPolicy(attempts=2, backoff_s=60, timeout_s=300)
)
SWEEP_QUEUED = Task("comms.whatsapp.sweep_queued", NoArgs, TaskPolicy(attempts=1, timeout_s=120))
LOG_RETENTION = Task("comms.log_retention", NoArgs, TaskPolicy(attempts=2, timeout_s=600))

HOURLY = "0 * * * *"
EVERY_5_MINUTES = "*/5 * * * *"
WEEKLY = "30 3 * * 0"
