"""Growing waits for an account that keeps failing to sign in, wherever the attempts come from.

The per-address limits (``throttle``) stop one source; behind a proxy every user is one source,
and a guesser with many addresses is many. So each account also counts its consecutive failed
sign-ins in the database, where every process sees the same count: the first five are free,
then each further attempt waits 1, 2, 4, … seconds, at most 15 minutes. A success clears the
count; nothing ever locks an account for good. An email without an account is counted the same
way (keyed by the normalised email), so the answer never tells whether the account exists.

An attempt is counted when it is admitted, before the password is checked, by a compare-and-set
on the stored count: of many simultaneous attempts only as many are admitted as the count
allows, and the rest are told when to come back (``RateLimited`` with Retry-After).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from mas.core.identity.model import AccountThrottle
from mas.core.identity.ports import IdentityUnitOfWork, Secrets
from mas.core.platform.errors import RateLimited
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import UnitOfWorkFactory

FREE_FAILURES = 5
MAX_WAIT_S = 15 * 60
_ADMIT_TRIES = 10


def wait_after(failures: int) -> int:
    """Seconds the next attempt waits after ``failures`` consecutive failed sign-ins."""
    if failures < FREE_FAILURES:
        return 0
    return min(1 << min(failures - FREE_FAILURES, 20), MAX_WAIT_S)


class AccountLockout:
    def __init__(
        self, *, uow: UnitOfWorkFactory[IdentityUnitOfWork], clock: Clock, secrets: Secrets
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._secrets = secrets

    def subject(self, email: str) -> str:
        """Rows carry a keyed digest of the normalised email, not the address."""
        return self._secrets.keyed_digest(f"sign-in:{email}")

    async def admit(self, email: str) -> str:
        """Count one attempt for ``email`` (committed at once); ``RateLimited`` while it must
        wait. Returns the subject to ``clear`` after a success."""
        subject = self.subject(email)
        for _ in range(_ADMIT_TRIES):
            now = self._clock.now()
            async with self._uow() as uow:
                state = await uow.account_throttles.get(subject)
                if state is not None and state.blocked_until is not None:
                    _refuse_until(state.blocked_until, now)
                failures = (state.failures if state else 0) + 1
                wait_s = wait_after(failures)
                admitted = AccountThrottle(
                    subject=subject,
                    failures=failures,
                    last_attempt_at=now,
                    blocked_until=now + timedelta(seconds=wait_s) if wait_s else None,
                )
                expected = state.failures if state else None
                if await uow.account_throttles.put(admitted, expected):
                    await uow.commit()
                    return subject
        # Every try lost to another attempt at this very account: it is being hammered.
        raise RateLimited("too many sign-in attempts for this account; slow down", retry_after=1)

    @staticmethod
    async def clear(uow: IdentityUnitOfWork, subject: str) -> None:
        """A success: the count starts again (in the sign-in's unit of work)."""
        await uow.account_throttles.clear(subject)


def _refuse_until(blocked_until: datetime, now: datetime) -> None:
    if blocked_until > now:
        wait_s = max(1, math.ceil((blocked_until - now).total_seconds()))
        raise RateLimited(
            f"too many failed sign-ins for this account; try again in {wait_s} s",
            retry_after=wait_s,
        )
