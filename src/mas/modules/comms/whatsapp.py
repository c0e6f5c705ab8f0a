"""The communications manifest's whatsapp part: its tables, repositories, controllers and how
its services are built from the container."""

from __future__ import annotations

from typing import Any

from mas.core.comms.whatsapp import WhatsAppPorts, WhatsAppServices, build_whatsapp
from mas.modules.container import Container

TABLES: list[str] = []
REPOSITORIES: dict[str, Any] = {}
CONTROLLERS: list[str] = []


def build(c: Container) -> WhatsAppServices:
    return build_whatsapp(WhatsAppPorts())


def writer(c: Container) -> Any:
    """This part's side of the messenger (built before any domain; platform fields only)."""
    from mas.core.comms.whatsapp.writer import WhatsAppMessageWriter

    return WhatsAppMessageWriter()
