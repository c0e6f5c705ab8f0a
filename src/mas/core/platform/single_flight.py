"""One load per key at a time: concurrent callers that miss the same cache entry share it.

The guard's caches (a user's account, a sales head's profile) expire every 30 s; under load every
request in flight at that moment missed at once and each read the database for the same row.
With ``SingleFlight`` the first miss loads and the others await that load: its value, or its
error, reaches every one of them. The load runs as a task of its own, so a caller that is
cancelled (a client gone) neither cancels it for the others nor leaves them a cancellation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SingleFlight(Generic[K, V]):
    def __init__(self) -> None:
        self._running: dict[K, asyncio.Task[V]] = {}

    async def run(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        """``load()``'s result for ``key``, shared with every caller asking while it runs."""
        task = self._running.get(key)
        if task is None:
            task = asyncio.ensure_future(_awaited(load))
            self._running[key] = task
            task.add_done_callback(lambda done: self._finished(key, done))
        return await asyncio.shield(task)

    def forget(self, key: K) -> None:
        """Callers from now on start a load of their own: the value changed while one ran
        (its waiters still get its result, read before the change)."""
        self._running.pop(key, None)

    def _finished(self, key: K, task: asyncio.Task[V]) -> None:
        if self._running.get(key) is task:
            del self._running[key]
        if not task.cancelled():
            task.exception()  # retrieved here too: every waiter may have gone meanwhile

    def running(self) -> int:
        """Loads in flight (for tests and metrics)."""
        return len(self._running)


async def _awaited(load: Callable[[], Awaitable[V]]) -> V:
    return await load()
