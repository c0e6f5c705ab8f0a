"""The in-process event bus: the embedded default and the one unit tests use.

It matches subjects like NATS does and sends each handler a JSON round-trip of the payload, so
a handler sees the same types (strings for UUIDs and datetimes) it will see on NATS, and one
handler mutating its payload cannot change what the next one receives.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import msgspec

from mas.core.platform.ports.events import EventHandler, Unsubscribe
from mas.core.platform.realtime import UserEvent, user_subject

log = logging.getLogger("mas.events")


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS wildcards: ``*`` is exactly one token, a final ``>`` is one or more tokens."""
    wanted = pattern.split(".")
    tokens = subject.split(".")
    for index, part in enumerate(wanted):
        if part == ">":
            return len(tokens) > index
        if index >= len(tokens) or (part != "*" and part != tokens[index]):
            return False
    return len(tokens) == len(wanted)


def check_pattern(pattern: str) -> None:
    parts = pattern.split(".")
    if any(not part for part in parts):
        raise ValueError(f"subject pattern {pattern!r} has an empty token")
    if ">" in parts[:-1]:
        raise ValueError(f"subject pattern {pattern!r} may only end with '>'")


class InProcessBus:
    def __init__(self) -> None:
        self._subscriptions: list[tuple[str, EventHandler]] = []

    async def publish(self, subject: str, payload: dict[str, Any]) -> None:
        """Await every matching handler in subscription order; a failure is logged, not raised."""
        if any(token in ("*", ">", "") for token in subject.split(".")):
            raise ValueError(f"cannot publish on {subject!r}: wildcards and empty tokens")
        body = msgspec.json.encode(payload)
        for pattern, handler in list(self._subscriptions):
            if not subject_matches(pattern, subject):
                continue
            try:
                await handler(subject, msgspec.json.decode(body))
            except Exception:
                log.exception(
                    "events.handler_failed",
                    extra={
                        "subject": subject,
                        "pattern": pattern,
                        "handler": handler_name(handler),
                    },
                )

    async def subscribe(self, pattern: str, handler: EventHandler) -> Unsubscribe:
        check_pattern(pattern)
        entry = (pattern, handler)
        self._subscriptions.append(entry)

        async def unsubscribe() -> None:
            # Identity, not equality: the same handler may be subscribed twice.
            for index, candidate in enumerate(self._subscriptions):
                if candidate is entry:
                    del self._subscriptions[index]
                    return

        return unsubscribe

    async def publish_user(self, user_id: uuid.UUID, event: UserEvent) -> None:
        await self.publish(user_subject(user_id), msgspec.to_builtins(event))

    async def close(self) -> None:
        self._subscriptions.clear()


def handler_name(handler: EventHandler) -> str:
    return getattr(handler, "__qualname__", None) or repr(handler)
