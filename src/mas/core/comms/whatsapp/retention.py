"""``comms.log_retention`` for WhatsApp: stored requests and kept webhook bodies last 180 days."""

from __future__ import annotations

from datetime import timedelta

import msgspec

from mas.core.comms.whatsapp.ports import WhatsAppUnitOfWork
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import UnitOfWorkFactory

KEEP = timedelta(days=180)


class Dropped(msgspec.Struct, frozen=True, kw_only=True):
    payloads: int
    webhooks: int


class Retention:
    def __init__(self, uow: UnitOfWorkFactory[WhatsAppUnitOfWork], clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def run(self) -> Dropped:
        """Forget finished messages' ``request_payload`` and kept webhook bodies (date only)."""
        before = self._clock.now() - KEEP
        async with self._uow() as uow:
            payloads = await uow.whatsapp_messages.drop_payloads(before)
            webhooks = await uow.whatsapp_webhooks.drop_before(before)
            await uow.commit()
        return Dropped(payloads=payloads, webhooks=webhooks)
