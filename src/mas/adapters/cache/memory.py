"""An in-process cache for the embedded default and for tests.

Every method does its read-modify-write without awaiting, so on one event loop each call is
atomic (``incr`` and ``add_if_absent`` need no lock). It is not shared between processes: with
more than one worker, use ``NatsKvCache``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from mas.adapters.telemetry.metrics import count_lookup

_SWEEP_EVERY = 1024


class MemoryCache:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        # A monotonic clock so a wall-clock jump cannot expire or revive entries.
        self._clock = clock
        self._entries: dict[str, tuple[bytes, float]] = {}
        self._writes = 0

    async def get(self, key: str) -> bytes | None:
        value = self._live(key)
        count_lookup(key, value is not None)
        return value

    async def set(self, key: str, value: bytes, ttl_s: int) -> None:
        self._store(key, value, self._expiry(ttl_s))

    async def delete(self, key: str) -> None:
        self._entries.pop(key, None)

    async def incr(self, key: str, ttl_s: int) -> int:
        """Like Redis INCR: the first increment sets the TTL, later ones keep it."""
        expires_at = self._expiry(ttl_s)
        current = self._live(key)
        if current is None:
            self._store(key, b"1", expires_at)
            return 1
        try:
            value = int(current) + 1
        except ValueError:
            raise ValueError(f"cache key {key!r} does not hold a counter") from None
        self._store(key, str(value).encode(), self._entries[key][1])
        return value

    async def add_if_absent(self, key: str, value: bytes, ttl_s: int) -> bool:
        expires_at = self._expiry(ttl_s)
        if self._live(key) is not None:
            return False
        self._store(key, value, expires_at)
        return True

    async def close(self) -> None:
        self._entries.clear()

    def _expiry(self, ttl_s: int) -> float:
        # NATS KV reads a zero max_age as "keep forever"; refuse it on every backend alike.
        if ttl_s < 1:
            raise ValueError(f"ttl_s must be at least 1 second, got {ttl_s}")
        return self._clock() + ttl_s

    def _live(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[1] <= self._clock():
            del self._entries[key]
            return None
        return entry[0]

    def _store(self, key: str, value: bytes, expires_at: float) -> None:
        self._entries[key] = (value, expires_at)
        self._writes += 1
        if self._writes % _SWEEP_EVERY == 0:
            self._sweep()

    def _sweep(self) -> None:
        """Drop expired entries that nobody reads again, so memory stays bounded by live keys."""
        now = self._clock()
        for key in [k for k, (_, expires_at) in self._entries.items() if expires_at <= now]:
            del self._entries[key]
