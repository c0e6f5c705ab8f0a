"""Mentorship: the meetings part (mentorship.md). Built by its manifest part,
``mas.modules.mentorship.meetings``.

Exports the part's services (``MeetingServices``), what builds them (``MeetingPorts``,
``build_meetings``) and its tasks (``HANDLERS``, ``CRONS``, ``SUBSCRIPTIONS``: handlers take
the part's services; ``mas.core.mentorship.handlers`` binds them to the domain's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mas.core.platform.events import Subscription
from mas.core.platform.tasking import Handler, Task


@dataclass(frozen=True)
class MeetingPorts:
    pass


@dataclass(frozen=True)
class MeetingServices:
    pass


def build_meetings(ports: MeetingPorts) -> MeetingServices:
    return MeetingServices()


HANDLERS: Sequence[Handler[MeetingServices, Any]] = ()
CRONS: Mapping[Task[Any], str] = {}
SUBSCRIPTIONS: Sequence[Subscription[MeetingServices, Any]] = ()
