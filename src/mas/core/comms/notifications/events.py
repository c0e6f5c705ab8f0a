"""Events of the notifications part: a notification written in some domain's transaction."""

from __future__ import annotations

import uuid

from mas.core.platform.events import DomainEvent


class NotificationCreated(DomainEvent, frozen=True, kw_only=True):
    """Recorded in the writer's transaction; after its commit the subscription drops the
    user's cached unread count and pushes the realtime ``notification`` event."""

    subject = "mas.comms.notification_created"
    notification_id: uuid.UUID
    user_id: uuid.UUID
    category: str
    title: str
    link: str | None = None
