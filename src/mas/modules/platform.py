"""The platform's manifest: the job ledger, the outbox and message delivery, leases."""

from __future__ import annotations

import logging

from mas.adapters.db.platform.jobs import SqlJobRunRepository
from mas.adapters.db.platform.leases import SqlLeaseRepository
from mas.adapters.db.platform.outbox import SqlOutboxRepository
from mas.adapters.secretbox import AesGcmSecretBox
from mas.core.platform.handlers import HANDLERS
from mas.core.platform.messenger import MessageDelivery, Messenger
from mas.core.platform.ports.rooms import RoomStore
from mas.core.platform.ports.secrets import SecretBox
from mas.core.platform.services import PlatformServices
from mas.core.platform.tasks import CRONS
from mas.core.platform.tickets import RealtimeTickets
from mas.core.platform.user_streams import UserStreams
from mas.modules.base import Module
from mas.modules.container import Container

log = logging.getLogger("mas.platform")


def _rooms(c: Container) -> RoomStore:
    # Rooms fan out over the bus, so their state is shared exactly when the bus is. The NATS
    # client is imported only then (the in-process bus's processes never load it).
    if c.settings.event_bus == "nats":  # otherwise mas.bootstrap made the in-process bus
        from mas.adapters.bus.nats import NatsEventBus
        from mas.adapters.realtime.nats_kv import NatsRoomStore

        if isinstance(c.bus, NatsEventBus):
            return NatsRoomStore(c.bus.connection, replicas=c.settings.nats_replicas)
    from mas.adapters.realtime.memory import MemoryRoomStore

    return MemoryRoomStore()


def secret_box(c: Container) -> SecretBox | None:
    """The installation's secret box (``container.secret_box``): it seals what is kept
    encrypted at rest (provider credentials, Google tokens, an export's password while its job
    runs). Keyed by ``encryption_key``, else the JWT secret; older key versions still open.
    None when no secret is long enough to key it (the features needing it answer 503)."""
    settings = c.settings
    secrets: dict[int, str | bytes] = {
        int(version): key for version, key in settings.retired_encryption_keys.items()
    }
    secrets[settings.encryption_key_version] = (
        settings.encryption_key or settings.effective_jwt_secret
    )
    try:
        return AesGcmSecretBox.from_secrets(secrets, current=settings.encryption_key_version)
    except ValueError as exc:
        log.error("platform.secret_box_unavailable", extra={"error": str(exc)})
        return None


def build(c: Container) -> PlatformServices:
    streams = UserStreams(
        c.bus,
        c.clock,
        keepalive_s=c.settings.sse_keepalive_s,
        max_lifetime_s=c.settings.sse_max_lifetime_s,
    )
    c.closers.append(streams.close)
    return PlatformServices(
        jobs=c.jobs,
        delivery=MessageDelivery(c.uow, c.mail, c.clock, c.settings.mail_from, c.storage),
        relay=c.relay,
        messenger=Messenger(c.uow, c.clock),
        tasks=c.handlers,
        streams=streams,
        tickets=RealtimeTickets(c.cache, c.clock, limiter=c.rate_limiter),
        rooms=_rooms(c),
    )


MODULE = Module(
    name="platform",
    services=PlatformServices,
    build=build,
    tables=["mas.adapters.db.platform.tables"],
    repositories={
        "jobs": SqlJobRunRepository,
        "outbox": SqlOutboxRepository,
        "leases": SqlLeaseRepository,
    },
    handlers=HANDLERS,
    crons=CRONS,
    controllers=[
        "mas.http.platform.health:HealthController",
        "mas.http.platform.admin:JobsController",
        "mas.http.platform.admin:OutboxController",
        "mas.http.platform.realtime:RealtimeController",
        "mas.http.platform.storage:StorageController",
    ],
    cli={
        "db": "mas.cli.db:app",
        "jobs": "mas.cli.jobs:app",
        "outbox": "mas.cli.outbox:app",
        "config": "mas.cli.system:config_app",
    },
    provides={"secret_box": secret_box},
)
