"""Identity's nightly clean-up (the ``auth.purge_expired`` task)."""

from __future__ import annotations

from datetime import timedelta

from mas.core.identity.ports import IdentityUnitOfWork
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import UnitOfWorkFactory


class Housekeeping:
    def __init__(self, *, uow: UnitOfWorkFactory[IdentityUnitOfWork], clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def purge_expired(self) -> tuple[int, int, int]:
        """Delete codes older than a day, refresh rows expired for 30 days and sign-in
        failure counts idle for a day whose wait is over (safe to rerun).

        Returns how many codes, sessions and failure counts went."""
        now = self._clock.now()
        async with self._uow() as uow:
            codes = await uow.otps.purge(now - timedelta(days=1))
            sessions = await uow.sessions.purge(now - timedelta(days=30))
            throttles = await uow.account_throttles.purge(now - timedelta(days=1), now)
            await uow.commit()
        return codes, sessions, throttles
