"""OutboxRelay: after a commit, recorded events reach the bus and messages reach the send task."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest

from mas.adapters.fakes.platform import (
    FakeClock,
    FakeEnqueuer,
    FakeEventBus,
    FakePlatformUnitOfWork,
    PlatformStore,
    StoredEvent,
)
from mas.core.platform.events import DomainEvent
from mas.core.platform.ids import uuid7
from mas.core.platform.outbox import OutboxRelay
from mas.core.platform.tasks import SEND_EMAIL as SEND_EMAIL_TASK

SEND_EMAIL = SEND_EMAIL_TASK.name

NOW = datetime(2025, 6, 2, 8, 30, tzinfo=UTC)


class Relay:
    def __init__(self) -> None:
        self.events = PlatformStore()  # the outbox's committed rows
        self.bus = FakeEventBus()
        self.jobs = FakeEnqueuer()
        self.relay = OutboxRelay(
            lambda: FakePlatformUnitOfWork(self.events), self.bus, self.jobs, FakeClock(NOW)
        )

    def record(self, subject: str, **payload: Any) -> StoredEvent:
        event = StoredEvent(uuid7(), subject, payload)
        self.events.events.append(event)
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


async def test_after_commit_hands_a_unit_of_works_messages_to_one_send_run(relay: Relay) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    await relay.relay.after_commit([], [first, second])
    assert relay.jobs.enqueued == [
        (
            "comms.send_emails",
            {"message_ids": [str(first), str(second)]},
            f"batch:{first}",
        )
    ]
    assert SEND_EMAIL == "comms.send_email"
    assert relay.bus.published == []
    assert relay.events.commits == 0  # no events: no transaction opened
    assert relay.jobs.delayed == []


async def test_after_commit_with_events_and_messages(relay: Relay) -> None:
    event = relay.record("mas.hire.offer_made", offer="O1")
    message_id = uuid.uuid4()
    await relay.relay.after_commit([event.id], [message_id])
    assert [subject for subject, _ in relay.bus.published] == ["mas.hire.offer_made"]
    assert relay.jobs.enqueued == [(SEND_EMAIL, {"message_id": str(message_id)}, str(message_id))]


async def test_an_outage_after_commit_is_left_to_the_sweepers(relay: Relay) -> None:
    event = relay.record("mas.crm.lead_created", lead_id="L1")
    relay.bus.down = True
    relay.jobs.down = True
    await relay.relay.after_commit([event.id], [uuid.uuid4()])  # the commit stands: no raise
    assert event.published_at is None
    assert relay.jobs.enqueued == []
    relay.bus.down = False
    assert await relay.relay.publish_events() == 1
    assert event.published_at == NOW


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
