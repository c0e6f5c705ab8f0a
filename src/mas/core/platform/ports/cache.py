"""A small key-value cache with TTLs: memory by default, NATS KV in production."""

from __future__ import annotations

from typing import Protocol


class Cache(Protocol):
    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl_s: int) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def incr(self, key: str, ttl_s: int) -> int:
        """Add one to the counter at ``key`` (created at 1 with ``ttl_s``); return the new value."""
        ...

    async def add_if_absent(self, key: str, value: bytes, ttl_s: int) -> bool:
        """Store only when the key is absent; True when this call stored it (locks, dedup)."""
        ...

    async def close(self) -> None: ...
