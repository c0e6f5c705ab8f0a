"""The platform's manifest: the job ledger, the outbox and message delivery, leases."""

from __future__ import annotations

from mas.adapters.db.platform.jobs import SqlJobRunRepository
from mas.adapters.db.platform.leases import SqlLeaseRepository
from mas.adapters.db.platform.outbox import SqlOutboxRepository
from mas.core.platform.handlers import HANDLERS
from mas.core.platform.messenger import MessageDelivery, Messenger
from mas.core.platform.services import PlatformServices
from mas.core.platform.tasks import CRONS
from mas.modules.base import Module
from mas.modules.container import Container


def build(c: Container) -> PlatformServices:
    return PlatformServices(
        jobs=c.jobs,
        delivery=MessageDelivery(c.uow, c.mail, c.clock, c.settings.mail_from),
        relay=c.relay,
        messenger=Messenger(c.uow, c.clock),
        tasks=c.handlers,
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
    ],
    cli={
        "db": "mas.cli.db:app",
        "jobs": "mas.cli.jobs:app",
        "outbox": "mas.cli.outbox:app",
        "config": "mas.cli.system:config_app",
    },
)
