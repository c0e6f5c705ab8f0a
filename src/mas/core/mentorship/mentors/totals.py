"""How many mentors a public list holds, remembered for a few seconds per process.

A discovery page itself is cheap: its rows are read off an index in order and the read stops
after ``limit`` of them. Its total is not: counting every listed mentor joins the profiles with
the accounts (listed = an EXPERT, not blocked, not deleted), about 3 ms of PostgreSQL per
request at 5,000 mentors, forty times the page. Every visitor asks for the same few totals, so
the first read of a filter counts (in the page's own statement) and the next ones, for
``TOTAL_TTL_S`` seconds, reuse the figure: the rows are always exact, the total at most that
old (a profile written or hidden in this process forgets every total at once). When a total
lapses, the first reader counts again and the readers meanwhile keep the old figure (up to
twice the TTL old; a recount not back within a fifth of the TTL is handed out again), so a
busy process does not send every concurrent request to count at the
same instant. The memo holds at most ``MAX_TOTALS`` filters: a stream of distinct searches
evicts the oldest, never grows it.
"""

from __future__ import annotations

from collections.abc import Hashable
from datetime import datetime, timedelta

from mas.core.platform.ports.clock import Clock

TOTAL_TTL_S = 5
MAX_TOTALS = 1024


class TotalsMemo:
    def __init__(self, clock: Clock, ttl_s: float = TOTAL_TTL_S, size: int = MAX_TOTALS) -> None:
        self._clock = clock
        self._ttl = timedelta(seconds=ttl_s)
        self._size = size
        # key → (counted at, total, a recount was handed out at)
        self._totals: dict[Hashable, tuple[datetime, int, datetime | None]] = {}

    def get(self, key: Hashable) -> int | None:
        """The remembered total, or None: then the caller counts and ``put``s it."""
        found = self._totals.get(key)
        if found is None:
            return None
        counted_at, total, recount = found
        now = self._clock.now()
        if now - counted_at < self._ttl:
            return total
        if now - counted_at >= 2 * self._ttl:
            del self._totals[key]
            return None
        if recount is None or now - recount >= self._ttl / 5:  # nobody recounting (or it failed)
            self._totals[key] = (counted_at, total, now)
            return None
        return total

    def put(self, key: Hashable, total: int) -> None:
        self._totals.pop(key, None)
        while len(self._totals) >= self._size:
            del self._totals[next(iter(self._totals))]  # the oldest
        self._totals[key] = (self._clock.now(), total, None)

    def forget(self) -> None:
        self._totals.clear()
