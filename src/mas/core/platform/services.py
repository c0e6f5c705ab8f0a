"""The platform's services: the job ledger, the outbox relay, message delivery."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mas.core.platform.jobs import JobService
from mas.core.platform.messenger import MessageDelivery, Messenger
from mas.core.platform.outbox import OutboxRelay
from mas.core.platform.ports.rooms import RoomStore
from mas.core.platform.tasking import Handler
from mas.core.platform.tickets import RealtimeTickets
from mas.core.platform.user_streams import UserStreams


@dataclass(frozen=True)
class PlatformServices:
    jobs: JobService
    delivery: MessageDelivery
    relay: OutboxRelay
    messenger: Messenger
    tasks: Mapping[str, Handler[Any, Any]]
    """Every task of every domain, by name (the runner's table)."""
    streams: UserStreams
    """This process's open user event streams (``GET /api/events/stream``)."""
    tickets: RealtimeTickets
    """Single-use WebSocket tickets (``POST /api/realtime/tickets``)."""
    rooms: RoomStore
    """Realtime rooms' members, presence and state (shared by replicas when the bus is)."""
