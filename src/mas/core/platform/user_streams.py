"""This process's open user streams: one bus subscription per user, a queue per stream.

A process subscribes to ``mas.rt.user.{id}`` once for a user with at least one open stream
(however many tabs that user has open here), not once per stream, and ends the subscription
``linger_s`` after the user's last stream closes. While subscribed it keeps the user's recent
events (``EventBuffer``) so a client that reconnects with ``Last-Event-ID`` gets what it
missed; the linger covers the usual reconnect gap of an ``EventSource``.

Each stream has a bounded queue: a client that does not read fast enough is dropped (its
stream ends, it reconnects and replays) rather than allowed to grow this process's memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import msgspec

from mas.core.platform.errors import RateLimited
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.events import EventBus, Unsubscribe
from mas.core.platform.realtime import RESET, EventBuffer, UserEvent, user_subject

log = logging.getLogger("mas.realtime")


class StreamDropped(Exception):
    """The stream fell ``queue_size`` events behind, or the process is closing its streams."""


class UserStream:
    def __init__(self, queue_size: int) -> None:
        self._queue: asyncio.Queue[UserEvent | None] = asyncio.Queue(maxsize=queue_size)
        self.dropped = False

    def offer(self, event: UserEvent) -> None:
        if self.dropped:
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.drop()

    def drop(self) -> None:
        """End the stream: what is queued is discarded, the reader gets ``StreamDropped``."""
        self.dropped = True
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(None)

    async def next(self, timeout_s: float) -> UserEvent | None:
        """The next event, or None when ``timeout_s`` passed without one (time for a
        keep-alive). Raises ``StreamDropped`` once the stream has been dropped."""
        try:
            event = await asyncio.wait_for(self._queue.get(), timeout_s)
        except TimeoutError:
            return None
        if event is None:
            raise StreamDropped("the stream fell behind or the server is closing it")
        return event


@dataclass(eq=False)
class _Channel:
    buffer: EventBuffer
    streams: set[UserStream] = field(default_factory=set)
    unsubscribe: Unsubscribe | None = None
    linger: asyncio.Task[None] | None = None


class UserStreams:
    def __init__(
        self,
        bus: EventBus,
        clock: Clock,
        *,
        buffer_size: int = 100,
        buffer_age: timedelta = timedelta(minutes=5),
        queue_size: int = 256,
        linger_s: float = 30.0,
        keepalive_s: float = 15.0,
        max_lifetime_s: float = 900.0,
        max_per_user: int = 8,
    ) -> None:
        if queue_size <= buffer_size:
            # A replay (the whole buffer plus a reset) must fit in a fresh stream's queue.
            raise ValueError("queue_size must exceed buffer_size")
        self._bus = bus
        self._clock = clock
        self._buffer_size = buffer_size
        self._buffer_age = buffer_age
        self._queue_size = queue_size
        self._linger_s = linger_s
        self.keepalive_s = keepalive_s
        """Idle seconds before a stream sends a keep-alive (proxies close silent connections)."""
        self.max_lifetime_s = max_lifetime_s
        """Seconds after which a stream ends (the client reconnects and is authenticated anew)."""
        self.max_per_user = max_per_user
        """Open streams one user may hold on this process (a tab each; more is a leak)."""
        self._channels: dict[uuid.UUID, _Channel] = {}
        self._lock = asyncio.Lock()

    def subscribed(self) -> frozenset[uuid.UUID]:
        """The users this process holds a bus subscription for."""
        return frozenset(
            user_id for user_id, channel in self._channels.items() if channel.unsubscribe
        )

    async def prepare(self, user_id: uuid.UUID) -> None:
        """Subscribe for ``user_id`` now, before a response starts, so a bus failure is an
        error answer rather than a cut stream. Left unused, it lapses like a closed stream."""
        channel = await self._attach(user_id)
        self._check_room(channel)
        if not channel.streams and channel.linger is None:
            self._detach_later(user_id, channel)

    @contextlib.asynccontextmanager
    async def open(
        self, user_id: uuid.UUID, last_event_id: str | None = None
    ) -> AsyncIterator[UserStream]:
        """A stream of ``user_id``'s events; with ``last_event_id``, it starts with the kept
        events after that id (all kept events then a ``reset`` when the id is not kept)."""
        channel = await self._attach(user_id)
        self._check_room(channel)
        stream = UserStream(self._queue_size)
        if last_event_id:
            now = self._clock.now()
            missed, complete = channel.buffer.since(last_event_id, now)
            for event in missed:
                stream.offer(event)
            if not complete:
                # No id: the client's Last-Event-ID stays the last event it really received.
                stream.offer(UserEvent(type=RESET, data={}, id="", at=now))
        channel.streams.add(stream)
        try:
            yield stream
        finally:
            channel.streams.discard(stream)
            if not channel.streams:
                self._detach_later(user_id, channel)

    def _check_room(self, channel: _Channel) -> None:
        if len(channel.streams) >= self.max_per_user:
            raise RateLimited(
                f"this account already has {self.max_per_user} open event streams here; "
                "close one (a stream per tab is enough)",
                code="too_many_streams",
            )

    async def close(self) -> None:
        """End every stream and subscription (process shutdown)."""
        async with self._lock:
            channels, self._channels = self._channels, {}
            for channel in channels.values():
                if channel.linger is not None:
                    channel.linger.cancel()
                for stream in channel.streams:
                    stream.drop()
                if channel.unsubscribe is not None:
                    await channel.unsubscribe()

    async def _attach(self, user_id: uuid.UUID) -> _Channel:
        async with self._lock:
            channel = self._channels.get(user_id)
            if channel is None:
                channel = _Channel(EventBuffer(self._buffer_size, self._buffer_age))
                channel.unsubscribe = await self._bus.subscribe(
                    user_subject(user_id), self._deliverer(channel)
                )
                self._channels[user_id] = channel
            elif channel.linger is not None:
                channel.linger.cancel()
                channel.linger = None
            return channel

    def _detach_later(self, user_id: uuid.UUID, channel: _Channel) -> None:
        async def detach() -> None:
            if self._linger_s > 0:
                await asyncio.sleep(self._linger_s)
            async with self._lock:
                if channel.streams or self._channels.get(user_id) is not channel:
                    return  # a stream opened meanwhile, or close() ran
                del self._channels[user_id]
                if channel.unsubscribe is not None:
                    await channel.unsubscribe()

        channel.linger = asyncio.create_task(detach(), name=f"rt-linger-{user_id}")

    def _deliverer(self, channel: _Channel) -> Any:
        async def deliver(subject: str, payload: dict[str, Any]) -> None:
            try:
                event = msgspec.convert(payload, UserEvent)
            except msgspec.ValidationError:
                log.exception("realtime.bad_event", extra={"subject": subject})
                return
            channel.buffer.append(event, self._clock.now())
            for stream in list(channel.streams):
                stream.offer(event)
                if stream.dropped:
                    log.warning("realtime.stream_dropped", extra={"subject": subject})

        return deliver
