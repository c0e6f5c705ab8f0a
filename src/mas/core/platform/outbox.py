"""The outbox relay: publishes recorded events and hands messages to the send task after commit.

Rows are written in the business transaction (see ``UnitOfWork.record`` / ``send``); this
relay runs after the commit, and a sweeper catches whatever a crash left behind.
"""

from __future__ import annotations

import logging
import uuid

from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.events import EventBus
from mas.core.platform.ports.tasks import Enqueuer
from mas.core.platform.ports.uow import PlatformUnitOfWork, UnitOfWorkFactory
from mas.core.platform.tasks import SEND_EMAIL, SEND_EMAILS, MessageBatch, MessageRef

log = logging.getLogger("mas.outbox")


class OutboxRelay:
    def __init__(
        self,
        uow: UnitOfWorkFactory[PlatformUnitOfWork],
        bus: EventBus,
        jobs: Enqueuer,
        clock: Clock,
    ) -> None:
        self._uow = uow
        self._bus = bus
        self._jobs = jobs
        self._clock = clock

    async def after_commit(self, event_ids: list[uuid.UUID], message_ids: list[uuid.UUID]) -> None:
        """Relay right away; when that fails (bus or broker down) the business change still
        stands, and the sweepers (``events.relay_outbox``, ``comms.dispatch_outbox``) relay the
        rows later."""
        if event_ids:
            try:
                await self.publish_events(ids=event_ids)
            except Exception:  # noqa: BLE001 - committed already; the sweeper publishes later
                log.exception("outbox.publish_deferred", extra={"events": len(event_ids)})
        if not message_ids:
            return
        try:
            if len(message_ids) == 1:
                await self._jobs.submit(SEND_EMAIL, MessageRef(message_ids[0]))
            else:
                await self._jobs.submit(SEND_EMAILS, MessageBatch(list(message_ids)))
        except Exception:  # noqa: BLE001 - committed already; the sweeper sends later
            log.exception("outbox.send_deferred", extra={"messages": len(message_ids)})

    async def publish_events(self, ids: list[uuid.UUID] | None = None, limit: int = 500) -> int:
        """Publish unpublished events (these ``ids`` only, or the oldest ``limit``)."""
        async with self._uow() as uow:
            rows = await uow.outbox.claim_unpublished_events(limit, ids)
            published = []
            for event_id, subject, payload in rows:
                # At-least-once: a crash after publish and before commit publishes again.
                await self._bus.publish(subject, {**payload, "event_id": str(event_id)})
                published.append(event_id)
            await uow.outbox.mark_published(published, self._clock.now())
            await uow.commit()
        return len(published)
