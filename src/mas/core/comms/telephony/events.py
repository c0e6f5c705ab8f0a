"""Telephony's events: an SMS queued through the messenger, waiting for its send task."""

from __future__ import annotations

import uuid

from mas.core.platform.events import DomainEvent


class SmsQueued(DomainEvent, frozen=True, kw_only=True):
    subject = "mas.sms.queued"
    sms_id: uuid.UUID
