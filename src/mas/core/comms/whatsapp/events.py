"""WhatsApp's events: a message or a reminder waiting for its task (submitted after commit)."""

from __future__ import annotations

import uuid
from datetime import datetime

from mas.core.platform.events import DomainEvent


class WhatsAppQueued(DomainEvent, frozen=True, kw_only=True):
    subject = "mas.whatsapp.queued"
    message_id: uuid.UUID
    send_after: datetime | None = None


class ReminderScheduled(DomainEvent, frozen=True, kw_only=True):
    subject = "mas.whatsapp.reminder_scheduled"
    reminder_id: uuid.UUID
    send_at: datetime
