"""The mentorship manifest's recordings part: its table, repository, controllers and how its
services are built from the container (media through ``c.storage``; the bot tickets' key
derived from the installation's secret)."""

from __future__ import annotations

from typing import Any

from mas.adapters.db.mentorship.recordings import SqlRecordingRepository
from mas.core.mentorship.recordings import RecordingPorts, RecordingServices, build_recordings
from mas.core.mentorship.room import bot_tickets
from mas.modules.container import Container

TABLES: list[str] = ["mas.adapters.db.mentorship.recordings_tables"]
REPOSITORIES: dict[str, Any] = {"recordings": SqlRecordingRepository}
CONTROLLERS: list[str] = [
    "mas.http.mentorship.recordings:MeetingRecordingController",
    "mas.http.mentorship.recordings:RecordingController",
]
MAIL_TEMPLATES: dict[str, Any] = {}


def build(c: Container) -> RecordingServices:
    return build_recordings(
        RecordingPorts(
            uow=c.uow,
            clock=c.clock,
            storage=c.storage,
            bot_key=bot_tickets.key_of(c.settings.effective_jwt_secret),
        )
    )
