"""The communications manifest's notifications part: its tables, repositories, controllers and how
its services are built from the container."""

from __future__ import annotations

from typing import Any

from mas.core.comms.notifications import (
    NotificationPorts,
    NotificationServices,
    build_notifications,
)
from mas.modules.container import Container

TABLES: list[str] = []
REPOSITORIES: dict[str, Any] = {}
CONTROLLERS: list[str] = []


def build(c: Container) -> NotificationServices:
    return build_notifications(NotificationPorts())


def writer(c: Container) -> Any:
    """This part's side of the messenger (built before any domain; platform fields only)."""
    from mas.core.comms.notifications.writer import NotificationWriter

    return NotificationWriter()
