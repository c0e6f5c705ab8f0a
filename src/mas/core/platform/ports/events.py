"""The event bus: in-process by default, NATS subjects ``mas.<domain>.<event>`` in production."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

EventHandler = Callable[[str, dict[str, Any]], Awaitable[None]]


class EventBus(Protocol):
    async def publish(self, subject: str, payload: dict[str, Any]) -> None: ...

    async def subscribe(self, pattern: str, handler: EventHandler) -> None:
        """``pattern`` uses NATS wildcards: ``*`` one token, ``>`` the rest."""
        ...

    async def close(self) -> None: ...
