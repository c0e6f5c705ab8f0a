"""User events: what a process pushes to one user's open streams (SSE now, WebSockets later).

``emitToUser`` of the system we replace becomes ``EventBus.publish_user(user_id, event)`` on
the subject ``mas.rt.user.{user_id}``. Any process may publish (an API replica, a worker);
every process holding a stream for that user receives it. Delivery is at-most-once, like the
bus under it: an event is a nudge ("something changed, here is the gist"), and a client that
sees a ``reset`` refetches what it shows instead of trusting it has seen everything.
"""

from __future__ import annotations

import uuid
from collections import deque
from datetime import datetime, timedelta
from typing import Any

import msgspec

from mas.core.platform.ids import uuid7

USER_SUBJECT_PREFIX = "mas.rt.user"
RESET = "reset"
"""The event a stream sends when it cannot replay everything after the client's last id."""


class UserEvent(msgspec.Struct, frozen=True, kw_only=True):
    type: str
    data: dict[str, Any] = {}
    id: str
    """Time-ordered (UUIDv7) and unique: the SSE ``id`` a reconnecting client sends back."""
    at: datetime


def user_event(type: str, data: dict[str, Any], at: datetime) -> UserEvent:
    """A new event with a fresh id, stamped ``at`` (aware UTC)."""
    return UserEvent(type=type, data=data, id=str(uuid7()), at=at)


def user_subject(user_id: uuid.UUID) -> str:
    return f"{USER_SUBJECT_PREFIX}.{user_id}"


class EventBuffer:
    """The last events of one user in this process, for ``Last-Event-ID`` replay.

    Bounded twice: at most ``size`` events and none older than ``max_age``, so memory per user
    stays fixed however chatty the publishers are.
    """

    def __init__(self, size: int = 100, max_age: timedelta = timedelta(minutes=5)) -> None:
        self._events: deque[tuple[datetime, UserEvent]] = deque(maxlen=size)
        self._max_age = max_age

    def append(self, event: UserEvent, now: datetime) -> None:
        self._events.append((now, event))

    def since(self, last_id: str, now: datetime) -> tuple[list[UserEvent], bool]:
        """The kept events after ``last_id``, and whether that is complete.

        Incomplete when ``last_id`` is not among the kept events (older than the buffer, or
        seen by another process): then every kept event is returned and the caller sends a
        ``reset`` after them.
        """
        self._expire(now)
        kept = [event for _, event in self._events]
        for index, event in enumerate(kept):
            if event.id == last_id:
                return kept[index + 1 :], True
        return kept, False

    def _expire(self, now: datetime) -> None:
        while self._events and now - self._events[0][0] > self._max_age:
            self._events.popleft()
