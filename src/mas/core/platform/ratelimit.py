"""Sliding-window rate limiting over the ``Cache`` port.

Each (key, window) gets one atomic counter from ``Cache.incr`` — which every backend provides,
including NATS KV shared by several processes. A fixed window alone would let a caller spend the
whole allowance at the end of one window and again at the start of the next (twice the limit in
a moment); so the decision weighs the previous window's count by how much of it still overlaps
the sliding window that ends now (the "sliding window counter" estimate). Counters live for two
windows, never need a reset, and cost one increment and one read per attempt.

Refused attempts are counted too: a caller hammering through a refusal keeps itself out, while a
caller that waits the ``Retry-After`` it was given is let in.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import msgspec

from mas.core.platform.errors import RateLimited
from mas.core.platform.ports.cache import Cache

_SLACK = 1e-9  # the weighted estimate is a float: a caller back on the dot of its Retry-After fits


class RateDecision(msgspec.Struct, frozen=True, kw_only=True):
    allowed: bool
    remaining: int
    retry_after_s: int
    """Seconds until one more attempt would be allowed when refused; 0 when allowed."""


class RateLimiter:
    def __init__(
        self, cache: Cache, *, now: Callable[[], float] = time.time, namespace: str = "ratelimit"
    ) -> None:
        self._cache = cache
        self._now = now
        self._namespace = namespace

    def _counter(self, key: str, window_s: int, window: int) -> str:
        # window_s is part of the key so one key limited over two window sizes never shares counts.
        return f"{self._namespace}:{key}:{window_s}:{window}"

    async def _previous(self, key: str, window_s: int, window: int) -> int:
        raw = await self._cache.get(self._counter(key, window_s, window - 1))
        return int(raw) if raw else 0

    async def hit(self, key: str, limit: int, window_s: int) -> RateDecision:
        """Count one attempt for ``key``; allowed while the last ``window_s`` hold <= ``limit``."""
        if limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        if window_s < 1:
            raise ValueError(f"window_s must be at least 1 second, got {window_s}")
        moment = self._now()
        window = math.floor(moment / window_s)
        current = await self._cache.incr(self._counter(key, window_s, window), 2 * window_s)
        previous = await self._previous(key, window_s, window)
        elapsed = moment / window_s - window
        estimate = previous * (1 - elapsed) + current
        if estimate <= limit + _SLACK:
            return RateDecision(
                allowed=True,
                remaining=max(0, math.floor(limit - estimate + _SLACK)),
                retry_after_s=0,
            )
        wait = _wait(previous, current, elapsed, limit) * window_s
        return RateDecision(allowed=False, remaining=0, retry_after_s=max(1, math.ceil(wait)))

    async def peek(self, key: str, limit: int, window_s: int) -> RateDecision:
        """Whether one more attempt would be allowed, without counting one."""
        moment = self._now()
        window = math.floor(moment / window_s)
        raw = await self._cache.get(self._counter(key, window_s, window))
        current = int(raw) if raw else 0
        previous = await self._previous(key, window_s, window)
        elapsed = moment / window_s - window
        estimate = previous * (1 - elapsed) + current
        if estimate + 1 <= limit + _SLACK:
            return RateDecision(
                allowed=True,
                remaining=max(0, math.floor(limit - estimate + _SLACK)),
                retry_after_s=0,
            )
        wait = _wait(previous, current, elapsed, limit) * window_s
        return RateDecision(allowed=False, remaining=0, retry_after_s=max(1, math.ceil(wait)))

    async def check(
        self, key: str, limit: int, window_s: int, *, detail: str | None = None
    ) -> RateDecision:
        """Like ``hit``, but raise ``RateLimited`` (with ``retry_after``) when refused."""
        decision = await self.hit(key, limit, window_s)
        if not decision.allowed:
            message = detail or "Too many attempts"
            raise RateLimited(
                f"{message}; try again in {decision.retry_after_s} s",
                retry_after=decision.retry_after_s,
            )
        return decision


def _wait(previous: int, current: int, elapsed: float, limit: int) -> float:
    """Windows (as a fraction) until one more attempt fits, if nobody attempts meanwhile."""
    if limit < 1:
        return 1 - elapsed + 1  # never allowed; tell the caller to come back after two windows
    if current + 1 <= limit and previous > 0:
        # Still inside this window, once the previous window's weight has faded enough.
        fraction = 1 - (limit - 1 - current) / previous
        return max(0.0, fraction - elapsed)
    # In the next window, once this window's weight has faded enough.
    fraction = 1 - (limit - 1) / current if current else 0.0
    return 1 - elapsed + max(0.0, fraction)
