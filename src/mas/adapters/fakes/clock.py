"""A clock that stands still until a test moves it (the ``Clock`` port)."""

from __future__ import annotations

from datetime import datetime, timedelta


class FrozenClock:
    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now

    def timestamp(self) -> float:
        """The same instant as a float (for ``RateLimiter`` and ``MemoryCache``)."""
        return self._now.timestamp()

    def advance(self, **kwargs: float) -> None:
        """Move on by ``timedelta(**kwargs)``."""
        self._now += timedelta(**kwargs)
