"""The ``EventBus`` port over NATS core subjects (``mas.<domain>.<event>``), JSON bodies.

Core NATS is at-most-once and every subscriber process gets every event: durable work belongs
in a task (JetStream), events are for reactions that may be missed or that every instance
wants (websocket pushes, cache invalidation).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import msgspec
import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from mas.adapters.bus.memory import check_pattern, handler_name
from mas.core.platform.errors import ExternalUnavailable
from mas.core.platform.ports.events import EventHandler, Unsubscribe
from mas.core.platform.realtime import UserEvent, user_subject

log = logging.getLogger("mas.events")


class NatsEventBus:
    def __init__(self, nc: Client, *, owns_connection: bool = False) -> None:
        """``owns_connection``: ``close()`` also drains the client (leave False when shared)."""
        self._nc = nc
        self._owns = owns_connection
        self._subscriptions: list[Subscription] = []

    @property
    def connection(self) -> Client:
        """The NATS client under the bus (the room store shares it)."""
        return self._nc

    async def publish(self, subject: str, payload: dict[str, Any]) -> None:
        await self._nc.publish(subject, msgspec.json.encode(payload))

    async def publish_user(self, user_id: uuid.UUID, event: UserEvent) -> None:
        await self._nc.publish(user_subject(user_id), msgspec.json.encode(event))

    async def subscribe(self, pattern: str, handler: EventHandler) -> Unsubscribe:
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

        try:
            subscription = await self._nc.subscribe(pattern, cb=on_message)
        except (nats.errors.Error, TimeoutError) as exc:
            raise _unavailable(pattern, exc) from exc
        self._subscriptions.append(subscription)
        try:
            # Once subscribe() returns, an event published by anyone must reach this handler.
            await self.flush()
        except (nats.errors.Error, TimeoutError) as exc:
            # The caller sees a failure: leave no subscription behind for it.
            self._subscriptions.remove(subscription)
            if not self._nc.is_closed:
                await subscription.unsubscribe()
            raise _unavailable(pattern, exc) from exc

        async def unsubscribe() -> None:
            if subscription not in self._subscriptions:
                return  # already ended, or close() took it
            self._subscriptions.remove(subscription)
            if not self._nc.is_closed:
                await subscription.unsubscribe()

        return unsubscribe

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


def _unavailable(pattern: str, exc: BaseException) -> ExternalUnavailable:
    log.warning("events.subscribe_failed", extra={"pattern": pattern, "error": repr(exc)})
    return ExternalUnavailable(f"event bus (NATS) is unavailable: {exc!r}")
