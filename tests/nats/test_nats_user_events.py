"""``publish_user`` over real NATS: a user's event crosses processes into that user's streams."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from mas.adapters.bus.nats import NatsEventBus
from mas.core.platform.errors import ExternalUnavailable
from mas.core.platform.ports.clock import SystemClock
from mas.core.platform.realtime import user_event, user_subject
from mas.core.platform.user_streams import UserStreams
from tests.nats.nats_test_support import connect_or_skip

pytestmark = pytest.mark.nats


@pytest.fixture
async def buses() -> AsyncIterator[tuple[NatsEventBus, NatsEventBus]]:
    """A worker that publishes and an API process holding streams, each on its connection."""
    worker = NatsEventBus(await connect_or_skip(), owns_connection=True)
    api = NatsEventBus(await connect_or_skip(), owns_connection=True)
    yield worker, api
    await worker.close()
    await api.close()


async def test_a_user_event_from_another_process_reaches_each_open_stream(
    buses: tuple[NatsEventBus, NatsEventBus],
) -> None:
    worker, api = buses
    clock = SystemClock()
    streams = UserStreams(api, clock, linger_s=0)
    user, other = uuid.uuid4(), uuid.uuid4()
    async with streams.open(user) as tab_one, streams.open(user) as tab_two:
        assert streams.subscribed() == {user}
        await worker.publish_user(other, user_event("x", {}, clock.now()))
        sent = user_event("notification.created", {"id": "n1"}, clock.now())
        await worker.publish_user(user, sent)
        assert await tab_one.next(5) == sent
        assert await tab_two.next(5) == sent
    await asyncio.sleep(0.05)
    assert streams.subscribed() == frozenset()
    await streams.close()


async def test_unsubscribe_stops_delivery_on_the_server(
    buses: tuple[NatsEventBus, NatsEventBus],
) -> None:
    worker, api = buses
    seen: list[str] = []

    async def handler(subject: str, payload: dict[str, object]) -> None:
        seen.append(subject)

    user = uuid.uuid4()
    stop = await api.subscribe(user_subject(user), handler)
    await worker.publish_user(user, user_event("a", {}, SystemClock().now()))
    await worker.flush()
    await api.flush()
    for _ in range(50):
        if seen:
            break
        await asyncio.sleep(0.02)
    await stop()
    await api.flush()
    await worker.publish_user(user, user_event("b", {}, SystemClock().now()))
    await worker.flush()
    await api.flush()
    await asyncio.sleep(0.1)
    assert seen == [user_subject(user)]


async def test_subscribing_without_nats_is_external_unavailable() -> None:
    nc = await connect_or_skip()
    bus = NatsEventBus(nc)
    await nc.close()

    async def handler(subject: str, payload: dict[str, object]) -> None:
        raise AssertionError("never delivered")

    with pytest.raises(ExternalUnavailable, match="event bus"):
        await bus.subscribe(user_subject(uuid.uuid4()), handler)
