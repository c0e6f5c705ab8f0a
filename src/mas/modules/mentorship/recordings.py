"""The mentorship manifest's recordings part: its tables, repositories, controllers and how its
services are built from the container."""

from __future__ import annotations

from typing import Any

from mas.core.mentorship.recordings import RecordingPorts, RecordingServices, build_recordings
from mas.modules.container import Container

TABLES: list[str] = []
REPOSITORIES: dict[str, Any] = {}
CONTROLLERS: list[str] = []
MAIL_TEMPLATES: dict[str, Any] = {}


def build(c: Container) -> RecordingServices:
    return build_recordings(RecordingPorts())
