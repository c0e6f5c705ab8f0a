"""The mentorship manifest's meetings part: its tables, repositories, controllers and how its
services are built from the container."""

from __future__ import annotations

from typing import Any

from mas.core.mentorship.meetings import MeetingPorts, MeetingServices, build_meetings
from mas.modules.container import Container

TABLES: list[str] = []
REPOSITORIES: dict[str, Any] = {}
CONTROLLERS: list[str] = []
MAIL_TEMPLATES: dict[str, Any] = {}


def build(c: Container) -> MeetingServices:
    return build_meetings(MeetingPorts())
