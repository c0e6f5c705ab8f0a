"""Mentorship: the recordings part (mentorship.md). Built by its manifest part,
``mas.modules.mentorship.recordings``.

Exports the part's services (``RecordingServices``), what builds them (``RecordingPorts``,
``build_recordings``) and its tasks (``HANDLERS``, ``CRONS``, ``SUBSCRIPTIONS``: handlers take
the part's services; ``mas.core.mentorship.handlers`` binds them to the domain's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mas.core.platform.events import Subscription
from mas.core.platform.tasking import Handler, Task


@dataclass(frozen=True)
class RecordingPorts:
    pass


@dataclass(frozen=True)
class RecordingServices:
    pass


def build_recordings(ports: RecordingPorts) -> RecordingServices:
    return RecordingServices()


HANDLERS: Sequence[Handler[RecordingServices, Any]] = ()
CRONS: Mapping[Task[Any], str] = {}
SUBSCRIPTIONS: Sequence[Subscription[RecordingServices, Any]] = ()
