"""Fixed-window rate limiting over the ``Cache`` port.

A fixed window needs one atomic counter per (key, window): ``Cache.incr`` gives exactly that on
every backend, including NATS KV shared by several processes. The window index is part of the
counter key, so a counter never has to be reset and its TTL only has to outlive the window.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import msgspec

from mas.core.ports.cache import Cache
from mas.core.shared.errors import RateLimited


class RateDecision(msgspec.Struct, frozen=True, kw_only=True):
    allowed: bool
    remaining: int
    retry_after_s: int
    """Seconds until the current window ends when refused; 0 when allowed."""


class RateLimiter:
    def __init__(
        self, cache: Cache, *, now: Callable[[], float] = time.time, namespace: str = "ratelimit"
    ) -> None:
        self._cache = cache
        self._now = now
        self._namespace = namespace

    async def hit(self, key: str, limit: int, window_s: int) -> RateDecision:
        """Count one attempt for ``key``; allowed while the window holds at most ``limit``."""
        if limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        if window_s < 1:
            raise ValueError(f"window_s must be at least 1 second, got {window_s}")
        moment = self._now()
        window = math.floor(moment / window_s)
        # window_s is part of the key so one key limited over two window sizes never shares counts.
        counter = f"{self._namespace}:{key}:{window_s}:{window}"
        count = await self._cache.incr(counter, window_s)
        if count <= limit:
            return RateDecision(allowed=True, remaining=limit - count, retry_after_s=0)
        window_end = (window + 1) * window_s
        retry_after = max(1, math.ceil(window_end - moment))
        return RateDecision(allowed=False, remaining=0, retry_after_s=retry_after)

    async def peek(self, key: str, limit: int, window_s: int) -> RateDecision:
        """Whether one more attempt would be allowed, without counting one."""
        moment = self._now()
        window = math.floor(moment / window_s)
        raw = await self._cache.get(f"{self._namespace}:{key}:{window_s}:{window}")
        count = int(raw) if raw else 0
        if count < limit:
            return RateDecision(allowed=True, remaining=limit - count, retry_after_s=0)
        retry_after = max(1, math.ceil((window + 1) * window_s - moment))
        return RateDecision(allowed=False, remaining=0, retry_after_s=retry_after)

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
