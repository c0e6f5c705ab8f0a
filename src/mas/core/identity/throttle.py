"""Attempt limits on the doors a guesser knocks at: passwords, codes, reset requests."""

from __future__ import annotations

from mas.core.platform.errors import RateLimited
from mas.core.platform.ratelimit import RateLimiter


async def throttle(limiter: RateLimiter, key: str, limit: int = 5, window_s: int = 60) -> None:
    """Count one attempt for ``key``; ``RateLimited`` (with Retry-After) past ``limit``."""
    decision = await limiter.hit(key, limit, window_s)
    if not decision.allowed:
        raise RateLimited("too many attempts; slow down", retry_after=decision.retry_after_s)
