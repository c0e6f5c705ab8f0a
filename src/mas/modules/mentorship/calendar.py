"""The mentorship manifest's calendar part: its tables, repositories, controllers and how its
services are built from the container."""

from __future__ import annotations

from typing import Any

from mas.core.mentorship.calendar import CalendarPorts, CalendarServices, build_calendar
from mas.modules.container import Container

TABLES: list[str] = []
REPOSITORIES: dict[str, Any] = {}
CONTROLLERS: list[str] = []
MAIL_TEMPLATES: dict[str, Any] = {}


def build(c: Container) -> CalendarServices:
    return build_calendar(CalendarPorts())
