"""Mentorship: the room part (mentorship.md §3-§6, architecture-original §c3). Built by its
manifest part, ``mas.modules.mentorship.room``.

``admission`` decides who opens a meeting's socket, ``session`` runs one socket's frames,
``hub`` fans them out to the room's sockets on every replica (the platform's ``EventBus`` and
``RoomStore``), ``attendance`` keeps the participation rows the meetings part reads as its
``AttendanceLog``, ``bot_info`` answers the recording bot.

Exports the part's services (``RoomServices``), what builds them (``RoomPorts``,
``build_room``) and its tasks (``HANDLERS``, ``CRONS``, ``SUBSCRIPTIONS``: handlers take
the part's services; ``mas.core.mentorship.handlers`` binds them to the domain's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mas.core.mentorship.room.admission import Admission, Admitted
from mas.core.mentorship.room.attendance import ParticipationLog
from mas.core.mentorship.room.bot_info import BotInfo
from mas.core.mentorship.room.hub import RoomHub
from mas.core.mentorship.room.ports import RoomUnitOfWork
from mas.core.mentorship.room.session import RoomSession
from mas.core.platform.events import Subscription
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.events import EventBus
from mas.core.platform.ports.rooms import RoomStore
from mas.core.platform.ports.uow import UnitOfWorkFactory
from mas.core.platform.tasking import Handler, Task
from mas.core.platform.tickets import RealtimeTickets


@dataclass(frozen=True)
class RoomPorts:
    uow: UnitOfWorkFactory[RoomUnitOfWork]
    clock: Clock
    bus: EventBus
    rooms: RoomStore
    tickets: RealtimeTickets
    bot_key: bytes
    """``bot_tickets.key_of(the installation's secret)``."""
    min_verified_minutes: int = 10


@dataclass(frozen=True)
class RoomServices:
    admission: Admission
    hub: RoomHub
    participation: ParticipationLog
    bot_info: BotInfo
    clock: Clock

    def session(self, admitted: Admitted) -> RoomSession:
        """The conversation of one admitted socket with its room."""
        return RoomSession(admitted, self.hub, self.participation, self.clock)


def build_room(ports: RoomPorts) -> RoomServices:
    return RoomServices(
        admission=Admission(ports.uow, ports.clock, ports.tickets, ports.bot_key),
        hub=RoomHub(ports.bus, ports.rooms),
        participation=ParticipationLog(ports.uow, ports.clock, ports.min_verified_minutes),
        bot_info=BotInfo(ports.uow, ports.clock, ports.bot_key),
        clock=ports.clock,
    )


HANDLERS: Sequence[Handler[RoomServices, Any]] = ()
CRONS: Mapping[Task[Any], str] = {}
SUBSCRIPTIONS: Sequence[Subscription[RoomServices, Any]] = ()
