"""OutboxRelay: after a commit, recorded events reach the bus and messages reach the send task."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, ClassVar, Self

import pytest

from mas.core.platform.events import DomainEvent
from mas.core.platform.outbox import SEND_EMAIL, OutboxRelay

NOW = datetime(2025, 6, 2, 8, 30, tzinfo=UTC)


class FakeClock:
    def now(self) -> datetime:
        return NOW


class FakeBus:
    def __init__(self) -> None:
        self.published: list[tuple[str, dict[str, Any]]] = []

    async def publish(self, subject: str, payload: dict[str, Any]) -> None:
        self.published.append((subject, payload))

    async def subscribe(self, pattern: str, handler: Any) -> None:
        raise AssertionError("the relay only publishes")

    async def close(self) -> None:
        pass


class FakeEnqueuer:
    def __init__(self) -> None:
        self.enqueued: list[tuple[str, dict[str, Any] | None, str | None]] = []

    async def enqueue(
        self,
        task: str,
        args: dict[str, Any] | None = None,
        *,
        key: str | None = None,
        delay: timedelta | None = None,
    ) -> None:
        assert delay is None
        self.enqueued.append((task, args, key))


class Event:
    def __init__(self, subject: str, payload: dict[str, Any]) -> None:
        self.id = uuid.uuid4()
        self.subject = subject
        self.payload = payload
        self.published_at: datetime | None = None


class FakeEvents:
    def __init__(self) -> None:
        self.rows: list[Event] = []
        self.commits = 0

    async def claim_unpublished_events(
        self, limit: int, ids: list[uuid.UUID] | None = None
    ) -> list[tuple[uuid.UUID, str, dict[str, Any]]]:
        rows = [e for e in self.rows if e.published_at is None and (ids is None or e.id in ids)]
        return [(e.id, e.subject, dict(e.payload)) for e in rows[:limit]]

    async def mark_published(self, event_ids: list[uuid.UUID], now: datetime) -> None:
        for event in self.rows:
            if event.id in event_ids:
                event.published_at = now


class FakeUnitOfWork:
    def __init__(self, outbox: FakeEvents) -> None:
        self.outbox = outbox

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        pass

    async def commit(self) -> None:
        self.outbox.commits += 1


class Relay:
    def __init__(self) -> None:
        self.events = FakeEvents()
        self.bus = FakeBus()
        self.jobs = FakeEnqueuer()
        self.relay = OutboxRelay(
            lambda: FakeUnitOfWork(self.events),  # type: ignore[arg-type, return-value]
            self.bus,
            self.jobs,
            FakeClock(),
        )

    def record(self, subject: str, **payload: Any) -> Event:
        event = Event(subject, payload)
        self.events.rows.append(event)
        return event


@pytest.fixture
def relay() -> Relay:
    return Relay()


async def test_after_commit_publishes_exactly_the_given_events(relay: Relay) -> None:
    older = relay.record("mas.crm.lead_created", lead_id="L1")
    mine = relay.record("mas.crm.lead_assigned", lead_id="L2", owner="asha")
    await relay.relay.after_commit([mine.id], [])
    assert relay.bus.published == [
        ("mas.crm.lead_assigned", {"lead_id": "L2", "owner": "asha", "event_id": str(mine.id)})
    ]
    assert mine.published_at == NOW
    assert older.published_at is None  # left to the sweeper
    assert relay.jobs.enqueued == []


async def test_after_commit_hands_each_message_to_the_send_task(relay: Relay) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    await relay.relay.after_commit([], [first, second])
    assert relay.jobs.enqueued == [
        (SEND_EMAIL, {"message_id": str(first)}, str(first)),
        (SEND_EMAIL, {"message_id": str(second)}, str(second)),
    ]
    assert SEND_EMAIL == "comms.send_email"
    assert relay.bus.published == []
    assert relay.events.commits == 0  # no events: no transaction opened


async def test_after_commit_with_events_and_messages(relay: Relay) -> None:
    event = relay.record("mas.hire.offer_made", offer="O1")
    message_id = uuid.uuid4()
    await relay.relay.after_commit([event.id], [message_id])
    assert [subject for subject, _ in relay.bus.published] == ["mas.hire.offer_made"]
    assert relay.jobs.enqueued == [(SEND_EMAIL, {"message_id": str(message_id)}, str(message_id))]


async def test_an_event_is_published_once(relay: Relay) -> None:
    event = relay.record("mas.crm.lead_created", lead_id="L1")
    await relay.relay.after_commit([event.id], [])
    await relay.relay.after_commit([event.id], [])
    assert len(relay.bus.published) == 1


async def test_the_sweep_publishes_the_oldest_unpublished_up_to_the_limit(relay: Relay) -> None:
    events = [relay.record("mas.crm.lead_created", n=n) for n in range(3)]
    assert await relay.relay.publish_events(limit=2) == 2
    assert [p["event_id"] for _, p in relay.bus.published] == [str(e.id) for e in events[:2]]
    assert await relay.relay.publish_events() == 1
    assert await relay.relay.publish_events() == 0
    assert relay.events.commits == 3


class LeadAssigned(DomainEvent, frozen=True, kw_only=True):
    subject: ClassVar[str] = "mas.crm.lead_assigned"
    lead_id: uuid.UUID
    owner: str
    at: datetime


def test_an_event_payload_is_plain_json_data_without_the_subject() -> None:
    lead_id = uuid.uuid4()
    event = LeadAssigned(lead_id=lead_id, owner="asha", at=NOW)
    assert event.payload() == {
        "lead_id": str(lead_id),
        "owner": "asha",
        "at": "2025-06-02T08:30:00Z",
    }
    assert LeadAssigned.subject == "mas.crm.lead_assigned"
    assert DomainEvent.subject == "mas.unknown.event"
