"""The communications manifest's notifications part: its tables, repositories, controllers and how
its services are built from the container."""

from __future__ import annotations

from typing import Any

from mas.adapters.db.comms.notifications import (
    SqlBroadcastRepository,
    SqlNotificationRepository,
)
from mas.core.comms.notifications import (
    NotificationPorts,
    NotificationServices,
    build_notifications,
)
from mas.core.comms.notifications.writer import NotificationWriter
from mas.modules.container import Container

TABLES: list[str] = ["mas.adapters.db.comms.notifications_tables"]
REPOSITORIES: dict[str, Any] = {
    "notifications": SqlNotificationRepository,
    "notification_broadcasts": SqlBroadcastRepository,
}
CONTROLLERS: list[str] = [
    "mas.http.comms.notifications:NotificationController",
    "mas.http.comms.notifications:BroadcastController",
]


def build(c: Container) -> NotificationServices:
    return build_notifications(
        NotificationPorts(
            uow=c.uow,
            clock=c.clock,
            cache=c.cache,
            bus=c.bus,
            jobs=c.jobs,
            zone=c.settings.timezone,
            daily_cap=c.settings.notification_daily_cap,
        )
    )


def writer(c: Container) -> NotificationWriter:
    """This part's side of the messenger (built before any domain; platform fields only)."""
    return NotificationWriter(
        clock=c.clock, zone=c.settings.timezone, daily_cap=c.settings.notification_daily_cap
    )
