"""The ``EventBus`` port over NATS core subjects (``mas.<domain>.<event>``), JSON bodies.

Core NATS is at-most-once and every subscriber process gets every event: durable work belongs
in a task (JetStream), events are for reactions that may be missed or that every instance
wants (websocket pushes, cache invalidation).
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from mas.adapters.bus.memory import check_pattern, handler_name
from mas.core.platform.ports.events import EventHandler

log = logging.getLogger("mas.events")


class NatsEventBus:
    def __init__(self, nc: Client, *, owns_connection: bool = False) -> None:
        """``owns_connection``: ``close()`` also drains the client (leave False when shared)."""
        self._nc = nc
        self._owns = owns_connection
        self._subscriptions: list[Subscription] = []

    async def publish(self, subject: str, payload: dict[str, Any]) -> None:
        await self._nc.publish(subject, msgspec.json.encode(payload))

    async def subscribe(self, pattern: str, handler: EventHandler) -> None:
        check_pattern(pattern)

        async def on_message(msg: Msg) -> None:
            try:
                payload = msgspec.json.decode(msg.data)
            except msgspec.DecodeError:
                log.exception("events.bad_payload", extra={"subject": msg.subject})
                return
            if not isinstance(payload, dict):
                log.error("events.bad_payload", extra={"subject": msg.subject})
                return
            try:
                await handler(msg.subject, payload)
            except Exception:
                log.exception(
                    "events.handler_failed",
                    extra={
                        "subject": msg.subject,
                        "pattern": pattern,
                        "handler": handler_name(handler),
                    },
                )

        self._subscriptions.append(await self._nc.subscribe(pattern, cb=on_message))
        # Once subscribe() returns, an event published by anyone must reach this handler.
        await self.flush()

    async def flush(self, timeout_s: float = 5.0) -> None:
        """Wait until the server has processed everything this connection sent so far."""
        # nats-py writes its PING ahead of commands still in its buffer, so the first PONG can
        # come back before a buffered SUB/PUB is read; the second PING follows them on the wire.
        await self._nc.flush(timeout=timeout_s)
        await self._nc.flush(timeout=timeout_s)

    async def close(self) -> None:
        subscriptions, self._subscriptions = self._subscriptions, []
        if self._nc.is_closed:
            return
        for subscription in subscriptions:
            await subscription.unsubscribe()
        if self._owns and not self._nc.is_closed:
            await self._nc.drain()
