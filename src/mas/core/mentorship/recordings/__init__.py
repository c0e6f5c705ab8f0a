"""Mentorship: the recordings part (mentorship.md §3 ``MeetingRecording``, §5, §6). Built by
its manifest part, ``mas.modules.mentorship.recordings``.

``uploads`` starts a meeting's recording (a multipart upload in storage and the recording bot's
ticket), hands out part URLs, completes or aborts it; ``library`` is the ADMIN's list and soft
delete and the participants' download URL; ``purge`` is the daily cron that removes deleted
recordings' objects and fails abandoned uploads. Media goes only through the ``Storage`` port.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mas.core.mentorship.recordings import tasks
from mas.core.mentorship.recordings.library import RecordingLibrary
from mas.core.mentorship.recordings.ports import RecordingsUnitOfWork
from mas.core.mentorship.recordings.purge import RecordingPurge
from mas.core.mentorship.recordings.uploads import RecordingUploads
from mas.core.platform.events import Subscription
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.storage import Storage
from mas.core.platform.ports.uow import UnitOfWorkFactory
from mas.core.platform.tasking import Handler, Task


@dataclass(frozen=True)
class RecordingPorts:
    uow: UnitOfWorkFactory[RecordingsUnitOfWork]
    clock: Clock
    storage: Storage
    bot_key: bytes
    """Signs the recording bot's tickets (``room.bot_tickets.key_of`` of the installation's
    secret)."""


@dataclass(frozen=True)
class RecordingServices:
    uploads: RecordingUploads
    library: RecordingLibrary
    purge: RecordingPurge


def build_recordings(ports: RecordingPorts) -> RecordingServices:
    return RecordingServices(
        uploads=RecordingUploads(ports.uow, ports.clock, ports.storage, ports.bot_key),
        library=RecordingLibrary(ports.uow, ports.clock, ports.storage),
        purge=RecordingPurge(ports.uow, ports.clock, ports.storage),
    )


HANDLERS: Sequence[Handler[RecordingServices, Any]] = (
    Handler(tasks.RECORDING_PURGE, tasks.recording_purge),
)
CRONS: Mapping[Task[Any], str] = {tasks.RECORDING_PURGE: "45 3 * * *"}
SUBSCRIPTIONS: Sequence[Subscription[RecordingServices, Any]] = ()
