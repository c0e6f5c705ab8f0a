"""The event bus: in-process by default, NATS subjects ``mas.<domain>.<event>`` in production."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from mas.core.platform.realtime import UserEvent

EventHandler = Callable[[str, dict[str, Any]], Awaitable[None]]
Unsubscribe = Callable[[], Awaitable[None]]


class EventBus(Protocol):
    async def publish(self, subject: str, payload: dict[str, Any]) -> None: ...

    async def subscribe(self, pattern: str, handler: EventHandler) -> Unsubscribe:
        """``pattern`` uses NATS wildcards: ``*`` one token, ``>`` the rest. The returned
        callable ends this one subscription (the realtime streams drop a user's when the user's
        last stream closes)."""
        ...

    async def publish_user(self, user_id: uuid.UUID, event: UserEvent) -> None:
        """Push ``event`` to every open stream of ``user_id``, on any process
        (``mas.rt.user.{user_id}``)."""
        ...

    async def close(self) -> None: ...
