"""Mentorship: the calendar part (mentorship.md). Built by its manifest part,
``mas.modules.mentorship.calendar``.

Exports the part's services (``CalendarServices``), what builds them (``CalendarPorts``,
``build_calendar``) and its tasks (``HANDLERS``, ``CRONS``, ``SUBSCRIPTIONS``: handlers take
the part's services; ``mas.core.mentorship.handlers`` binds them to the domain's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mas.core.platform.events import Subscription
from mas.core.platform.tasking import Handler, Task


@dataclass(frozen=True)
class CalendarPorts:
    pass


@dataclass(frozen=True)
class CalendarServices:
    pass


def build_calendar(ports: CalendarPorts) -> CalendarServices:
    return CalendarServices()


HANDLERS: Sequence[Handler[CalendarServices, Any]] = ()
CRONS: Mapping[Task[Any], str] = {}
SUBSCRIPTIONS: Sequence[Subscription[CalendarServices, Any]] = ()
