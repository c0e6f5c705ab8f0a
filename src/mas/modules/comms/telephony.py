"""The communications manifest's telephony part: its tables, repositories, controllers and how
its services are built from the container."""

from __future__ import annotations

from typing import Any

from mas.core.comms.telephony import TelephonyPorts, TelephonyServices, build_telephony
from mas.modules.container import Container

TABLES: list[str] = []
REPOSITORIES: dict[str, Any] = {}
CONTROLLERS: list[str] = []


def build(c: Container) -> TelephonyServices:
    return build_telephony(TelephonyPorts())
