"""In-memory calendar (mentorship.md §7): events in a dict under ids ``evt_<n>``, idempotent
like the real one, failures on demand.

``fail_next(n)`` makes the next ``n`` calls fail as an outage (``CalendarUnavailable``), or
with ``retryable=False`` as a refusal (``CalendarRejected``). ``calls`` records every call,
failed ones included, so a test can tell a retry from a second event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from mas.core.mentorship.ports.calendar import (
    CalendarOwner,
    CalendarRejected,
    CalendarUnavailable,
)


@dataclass(frozen=True)
class FakeEvent:
    id: str
    owner: CalendarOwner
    title: str
    start: datetime
    end: datetime
    attendees: tuple[str, ...]
    idempotency_key: str


@dataclass
class FakeCalendar:
    events: dict[str, FakeEvent] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)
    calls: list[tuple[Literal["create", "delete"], str]] = field(default_factory=list)
    _by_key: dict[tuple[str, str], str] = field(default_factory=dict)
    _counter: int = 0
    _failures: int = 0
    _retryable: bool = True

    def fail_next(self, times: int = 1, *, retryable: bool = True) -> None:
        self._failures = times
        self._retryable = retryable

    def _maybe_fail(self) -> None:
        if self._failures > 0:
            self._failures -= 1
            if self._retryable:
                raise CalendarUnavailable("fake calendar: told to fail")
            raise CalendarRejected("fake calendar: told to refuse")

    async def create_event(
        self,
        owner: CalendarOwner,
        title: str,
        start: datetime,
        end: datetime,
        attendees: list[str],
        idempotency_key: str,
    ) -> str:
        self.calls.append(("create", idempotency_key))
        self._maybe_fail()
        if end <= start:
            raise CalendarRejected("the event must end after it starts")
        known = self._by_key.get((owner.calendar_id, idempotency_key))
        if known is not None and known in self.events:
            return known
        if known is None:
            self._counter += 1
        # A deleted event's key brings it back under its id, as Google restores the event.
        event_id = known or f"evt_{self._counter}"
        self._by_key[(owner.calendar_id, idempotency_key)] = event_id
        self.events[event_id] = FakeEvent(
            event_id, owner, title, start, end, tuple(attendees), idempotency_key
        )
        return event_id

    async def delete_event(self, owner: CalendarOwner, event_id: str) -> None:
        self.calls.append(("delete", event_id))
        self._maybe_fail()
        if self.events.pop(event_id, None) is not None:
            self.deleted.append(event_id)
