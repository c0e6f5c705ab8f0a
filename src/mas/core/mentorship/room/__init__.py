"""Mentorship: the room part (mentorship.md). Built by its manifest part,
``mas.modules.mentorship.room``.

Exports the part's services (``RoomServices``), what builds them (``RoomPorts``,
``build_room``) and its tasks (``HANDLERS``, ``CRONS``, ``SUBSCRIPTIONS``: handlers take
the part's services; ``mas.core.mentorship.handlers`` binds them to the domain's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mas.core.platform.events import Subscription
from mas.core.platform.tasking import Handler, Task


@dataclass(frozen=True)
class RoomPorts:
    pass


@dataclass(frozen=True)
class RoomServices:
    pass


def build_room(ports: RoomPorts) -> RoomServices:
    return RoomServices()


HANDLERS: Sequence[Handler[RoomServices, Any]] = ()
CRONS: Mapping[Task[Any], str] = {}
SUBSCRIPTIONS: Sequence[Subscription[RoomServices, Any]] = ()
