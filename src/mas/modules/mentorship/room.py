"""The mentorship manifest's room part: its tables, repositories, controllers and how its
services are built from the container (the platform's bus, room store and realtime tickets;
the bot-ticket key derived from the installation's secret)."""

from __future__ import annotations

from typing import Any

from mas.adapters.db.mentorship.room import SqlParticipationRepository
from mas.core.mentorship.room import RoomPorts, RoomServices, bot_tickets, build_room
from mas.modules.container import Container

TABLES: list[str] = ["mas.adapters.db.mentorship.room_tables"]
REPOSITORIES: dict[str, Any] = {"meeting_participants": SqlParticipationRepository}
CONTROLLERS: list[str] = [
    "mas.http.mentorship.room:MeetingRoomController",
    "mas.http.mentorship.room:BotInfoController",
]
MAIL_TEMPLATES: dict[str, Any] = {}


def build(c: Container) -> RoomServices:
    services = build_room(
        RoomPorts(
            uow=c.uow,
            clock=c.clock,
            bus=c.bus,
            rooms=c.platform.rooms,
            tickets=c.platform.tickets,
            bot_key=bot_tickets.key_of(c.settings.effective_jwt_secret),
            min_verified_minutes=c.settings.min_verified_minutes,
        )
    )
    c.closers.append(services.hub.close)
    return services
