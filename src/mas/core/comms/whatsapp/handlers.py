"""What runs WhatsApp's tasks and reacts to its events (handlers take the part's services)."""

from __future__ import annotations

import logging
from typing import Any

from mas.core.comms.whatsapp.events import ReminderScheduled, WhatsAppQueued
from mas.core.comms.whatsapp.services import WhatsAppServices
from mas.core.comms.whatsapp.tasks import (
    EVERY_5_MINUTES,
    HOURLY,
    LOG_RETENTION,
    REMINDER,
    SEND,
    SWEEP_QUEUED,
    TEMPLATE_SYNC,
    WEEKLY,
    MessageRef,
    ReminderRef,
)
from mas.core.platform.events import Subscription
from mas.core.platform.tasking import Handler, NoArgs, Task

log = logging.getLogger("mas.comms")


async def send(whatsapp: WhatsAppServices, message: MessageRef) -> None:
    """Send a QUEUED WhatsApp message through the provider (skips any other status)."""
    await whatsapp.sending.send(message.message_id)


async def send_dead(whatsapp: WhatsAppServices, message: MessageRef) -> None:
    await whatsapp.sending.failed_for_good(message.message_id)


async def reminder(whatsapp: WhatsAppServices, message: ReminderRef) -> None:
    """Send a due interview or session reminder (nothing when it was cancelled)."""
    await whatsapp.reminders.run(message.reminder_id)


async def template_sync(whatsapp: WhatsAppServices, message: NoArgs) -> None:
    """Mirror the provider's templates; the ones gone at the provider become DISABLED."""
    result = await whatsapp.manager.sync()
    log.info("whatsapp.template_sync_done", extra={"result": str(result)})


async def sweep_queued(whatsapp: WhatsAppServices, message: NoArgs) -> None:
    """Resubmit QUEUED WhatsApp messages whose send task was lost."""
    await whatsapp.sending.sweep()


async def log_retention(whatsapp: WhatsAppServices, message: NoArgs) -> None:
    """Drop WhatsApp request payloads and kept webhook bodies older than 180 days."""
    dropped = await whatsapp.retention.run()
    log.info(
        "whatsapp.retention", extra={"payloads": dropped.payloads, "webhooks": dropped.webhooks}
    )


async def queued(whatsapp: WhatsAppServices, event: WhatsAppQueued) -> None:
    await whatsapp.sending.submit(event.message_id, event.send_after)


async def reminder_scheduled(whatsapp: WhatsAppServices, event: ReminderScheduled) -> None:
    await whatsapp.reminders.submit(event.reminder_id, event.send_at)


HANDLERS: list[Handler[WhatsAppServices, Any]] = [
    Handler(SEND, send, on_dead=send_dead),
    Handler(REMINDER, reminder),
    Handler(TEMPLATE_SYNC, template_sync),
    Handler(SWEEP_QUEUED, sweep_queued),
    Handler(LOG_RETENTION, log_retention),
]
CRONS: dict[Task[Any], str] = {
    TEMPLATE_SYNC: HOURLY,
    SWEEP_QUEUED: EVERY_5_MINUTES,
    LOG_RETENTION: WEEKLY,
}
SUBSCRIPTIONS: list[Subscription[WhatsAppServices, Any]] = [
    Subscription(WhatsAppQueued, queued),
    Subscription(ReminderScheduled, reminder_scheduled),
]
