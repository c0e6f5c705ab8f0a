"""NatsEventBus against a real NATS server: events cross connections as JSON."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from mas.adapters.bus.nats import NatsEventBus
from tests.nats.nats_test_support import connect_or_skip

pytestmark = pytest.mark.nats


@pytest.fixture
async def buses() -> AsyncIterator[tuple[NatsEventBus, NatsEventBus]]:
    """A publishing process and a subscribing process, each owning its connection."""
    publisher = NatsEventBus(await connect_or_skip(), owns_connection=True)
    subscriber = NatsEventBus(await connect_or_skip(), owns_connection=True)
    yield publisher, subscriber
    await publisher.close()
    await subscriber.close()


class Inbox:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()

    async def __call__(self, subject: str, payload: dict[str, Any]) -> None:
        await self.queue.put((subject, payload))

    async def next(self) -> tuple[str, dict[str, Any]]:
        return await asyncio.wait_for(self.queue.get(), timeout=5)


@pytest.fixture
def root() -> str:
    """A subject root of its own, so parallel runs on one server do not see each other."""
    return f"mastest{uuid.uuid4().hex[:8]}"


async def test_events_reach_matching_subscribers_in_another_process(
    buses: tuple[NatsEventBus, NatsEventBus], root: str
) -> None:
    publisher, subscriber = buses
    crm, everything = Inbox(), Inbox()
    await subscriber.subscribe(f"{root}.crm.*", crm)
    await subscriber.subscribe(f"{root}.>", everything)
    lead_id = uuid.uuid4()
    await publisher.publish(f"{root}.hire.candidate_added", {"n": 1})
    await publisher.publish(f"{root}.crm.lead_created", {"lead_id": lead_id, "tags": ["web"]})
    assert await crm.next() == (
        f"{root}.crm.lead_created",
        {"lead_id": str(lead_id), "tags": ["web"]},
    )
    assert (await everything.next())[0] == f"{root}.hire.candidate_added"
    assert (await everything.next())[0] == f"{root}.crm.lead_created"
    assert crm.queue.empty()


async def test_a_failing_handler_is_logged_and_later_events_still_arrive(
    buses: tuple[NatsEventBus, NatsEventBus], root: str, caplog: pytest.LogCaptureFixture
) -> None:
    publisher, subscriber = buses
    inbox = Inbox()

    async def flaky(subject: str, payload: dict[str, Any]) -> None:
        if payload["n"] == 1:
            raise RuntimeError("handler broke")
        await inbox(subject, payload)

    other = Inbox()
    await subscriber.subscribe(f"{root}.>", flaky)
    await subscriber.subscribe(f"{root}.>", other)
    with caplog.at_level(logging.ERROR, logger="mas.events"):
        await publisher.publish(f"{root}.x", {"n": 1})
        await publisher.publish(f"{root}.x", {"n": 2})
        assert await inbox.next() == (f"{root}.x", {"n": 2})
        assert [payload["n"] for _, payload in [await other.next(), await other.next()]] == [1, 2]
    failures = [r for r in caplog.records if r.getMessage() == "events.handler_failed"]
    assert len(failures) == 1
    assert failures[0].subject == f"{root}.x"  # type: ignore[attr-defined]


async def test_a_message_that_is_not_json_is_logged_and_dropped(
    buses: tuple[NatsEventBus, NatsEventBus], root: str, caplog: pytest.LogCaptureFixture
) -> None:
    publisher, subscriber = buses
    inbox = Inbox()
    await subscriber.subscribe(f"{root}.>", inbox)
    with caplog.at_level(logging.ERROR, logger="mas.events"):
        await publisher._nc.publish(f"{root}.raw", b"not json")
        await publisher.publish(f"{root}.ok", {"fine": True})
        assert await inbox.next() == (f"{root}.ok", {"fine": True})
    assert any(r.getMessage() == "events.bad_payload" for r in caplog.records)


async def test_close_stops_delivery(buses: tuple[NatsEventBus, NatsEventBus], root: str) -> None:
    publisher, _ = buses
    listener = NatsEventBus(await connect_or_skip(), owns_connection=True)
    inbox, sentinel = Inbox(), Inbox()
    await listener.subscribe(f"{root}.a", inbox)
    await listener.close()
    watcher = NatsEventBus(await connect_or_skip(), owns_connection=True)
    try:
        await watcher.subscribe(f"{root}.a", sentinel)
        await publisher.publish(f"{root}.a", {"n": 1})
        await sentinel.next()  # delivered to a live subscriber, so it was sent
        await asyncio.sleep(0.05)
        assert inbox.queue.empty()
    finally:
        await watcher.close()


async def test_invalid_patterns_are_refused(buses: tuple[NatsEventBus, NatsEventBus]) -> None:
    _, subscriber = buses
    with pytest.raises(ValueError):
        await subscriber.subscribe("mas.>.crm", Inbox())
