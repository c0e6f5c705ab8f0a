"""User events, the per-process stream hub and realtime tickets, on the in-memory adapters."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import msgspec
import pytest

from mas.adapters.bus.memory import InProcessBus
from mas.adapters.cache.memory import MemoryCache
from mas.adapters.fakes.platform import FakeClock, FakeEventBus
from mas.core.platform.realtime import RESET, EventBuffer, UserEvent, user_event, user_subject
from mas.core.platform.tickets import InvalidTicket, RealtimeTickets
from mas.core.platform.user_streams import StreamDropped, UserStreams


def event(clock: FakeClock, n: int) -> UserEvent:
    return user_event("notification.created", {"n": n}, clock.now())


async def test_publish_user_reaches_the_user_subject_as_the_event_struct() -> None:
    bus = InProcessBus()
    user = uuid.uuid4()
    seen: list[tuple[str, UserEvent]] = []

    async def handler(subject: str, payload: dict[str, object]) -> None:
        seen.append((subject, msgspec.convert(payload, UserEvent)))

    await bus.subscribe(user_subject(user), handler)
    sent = event(FakeClock(), 1)
    await bus.publish_user(user, sent)
    await bus.publish_user(uuid.uuid4(), event(FakeClock(), 2))
    assert seen == [(f"mas.rt.user.{user}", sent)]


async def test_unsubscribe_ends_only_that_subscription() -> None:
    bus = InProcessBus()
    seen: list[str] = []

    async def first(subject: str, payload: dict[str, object]) -> None:
        seen.append("first")

    async def second(subject: str, payload: dict[str, object]) -> None:
        seen.append("second")

    stop_first = await bus.subscribe("mas.a", first)
    await bus.subscribe("mas.a", second)
    await stop_first()
    await stop_first()  # a second call is harmless
    await bus.publish("mas.a", {})
    assert seen == ["second"]


def test_buffer_replays_after_a_kept_id_and_reports_an_unknown_one() -> None:
    clock = FakeClock()
    buffer = EventBuffer(size=3, max_age=timedelta(minutes=5))
    events = [event(clock, n) for n in range(5)]
    for item in events:
        buffer.append(item, clock.now())
    assert buffer.since(events[3].id, clock.now()) == ([events[4]], True)
    # events[0] fell out of the three kept: everything kept, marked incomplete.
    assert buffer.since(events[0].id, clock.now()) == (events[2:], False)
    clock.advance(minutes=6)
    assert buffer.since(events[3].id, clock.now()) == ([], False)


async def test_one_subscription_per_user_and_fan_out_to_each_stream() -> None:
    bus, clock = FakeEventBus(), FakeClock()
    streams = UserStreams(bus, clock, linger_s=0)
    user = uuid.uuid4()
    async with streams.open(user) as tab_one, streams.open(user) as tab_two:
        assert len(bus._subscriptions) == 1
        sent = event(clock, 1)
        await bus.publish_user(user, sent)
        assert await tab_one.next(1) == sent
        assert await tab_two.next(1) == sent
        assert await tab_one.next(0.01) is None  # nothing more: a keep-alive is due
    await asyncio.sleep(0)  # the detach task runs
    await asyncio.sleep(0)
    assert bus._subscriptions == []
    assert streams.subscribed() == frozenset()


async def test_linger_keeps_the_subscription_for_a_quick_reconnect() -> None:
    bus, clock = FakeEventBus(), FakeClock()
    streams = UserStreams(bus, clock, linger_s=30)
    user = uuid.uuid4()
    async with streams.open(user) as stream:
        first = event(clock, 1)
        await bus.publish_user(user, first)
        assert await stream.next(1) == first
    missed = event(clock, 2)
    await bus.publish_user(user, missed)  # between two connections
    async with streams.open(user, last_event_id=first.id) as stream:
        assert await stream.next(1) == missed
        assert len(bus._subscriptions) == 1
    await streams.close()
    assert bus._subscriptions == []


async def test_unknown_last_event_id_replays_what_is_kept_then_resets() -> None:
    bus, clock = FakeEventBus(), FakeClock()
    streams = UserStreams(bus, clock, buffer_size=2, queue_size=8)
    user = uuid.uuid4()
    async with streams.open(user) as first_tab:
        sent = [event(clock, n) for n in range(3)]
        for item in sent:
            await bus.publish_user(user, item)
        async with streams.open(user, last_event_id=sent[0].id) as late:
            assert [await late.next(1) for _ in range(2)] == sent[1:]
            reset = await late.next(1)
            assert reset is not None and reset.type == RESET and reset.id == ""
        assert [await first_tab.next(1) for _ in range(3)] == sent
    await streams.close()


async def test_a_slow_stream_is_dropped_not_buffered_without_bound() -> None:
    bus, clock = FakeEventBus(), FakeClock()
    streams = UserStreams(bus, clock, buffer_size=2, queue_size=3)
    user = uuid.uuid4()
    async with streams.open(user) as slow, streams.open(user) as fast:
        for n in range(4):
            await bus.publish_user(user, event(clock, n))
            assert await fast.next(1) is not None
        with pytest.raises(StreamDropped):
            await slow.next(1)
    await streams.close()


async def test_a_malformed_payload_is_logged_and_skipped(caplog: pytest.LogCaptureFixture) -> None:
    bus, clock = FakeEventBus(), FakeClock()
    streams = UserStreams(bus, clock)
    user = uuid.uuid4()
    async with streams.open(user) as stream:
        await bus.publish(user_subject(user), {"type": 5})
        assert await stream.next(0.01) is None
    assert "realtime.bad_event" in caplog.text
    await streams.close()


def test_queue_must_hold_a_full_replay() -> None:
    with pytest.raises(ValueError, match="queue_size"):
        UserStreams(FakeEventBus(), FakeClock(), buffer_size=10, queue_size=10)


async def test_a_ticket_opens_once_for_its_user_and_resource() -> None:
    clock = FakeClock()
    tickets = RealtimeTickets(MemoryCache(clock), clock)
    user = uuid.uuid4()
    issued = await tickets.issue(user, "meeting", "slot-1")
    assert issued.expires_at == clock.now() + timedelta(seconds=60)
    assert await tickets.redeem(issued.ticket, "meeting", "slot-1") == user
    with pytest.raises(InvalidTicket):
        await tickets.redeem(issued.ticket, "meeting", "slot-1")


@pytest.mark.parametrize(("purpose", "resource"), [("meeting", "slot-2"), ("terminal", "slot-1")])
async def test_a_ticket_for_something_else_is_refused_and_used_up(
    purpose: str, resource: str
) -> None:
    clock = FakeClock()
    tickets = RealtimeTickets(MemoryCache(clock), clock)
    issued = await tickets.issue(uuid.uuid4(), "meeting", "slot-1")
    with pytest.raises(InvalidTicket, match="something else"):
        await tickets.redeem(issued.ticket, purpose, resource)
    with pytest.raises(InvalidTicket):
        await tickets.redeem(issued.ticket, "meeting", "slot-1")


@pytest.mark.parametrize("ticket", ["", "x" * 129, "never-issued"])
async def test_unknown_tickets_are_refused(ticket: str) -> None:
    clock = FakeClock()
    with pytest.raises(InvalidTicket):
        await RealtimeTickets(MemoryCache(clock), clock).redeem(ticket, "meeting", "slot-1")


async def test_a_ticket_expires_after_sixty_seconds() -> None:
    clock = FakeClock()
    tickets = RealtimeTickets(MemoryCache(clock), clock)
    issued = await tickets.issue(uuid.uuid4(), "meeting", "slot-1")
    clock.advance(seconds=60)
    with pytest.raises(InvalidTicket):
        await tickets.redeem(issued.ticket, "meeting", "slot-1")


async def test_concurrent_redemptions_let_exactly_one_through() -> None:
    clock = FakeClock()
    tickets = RealtimeTickets(MemoryCache(clock), clock)
    issued = await tickets.issue(uuid.uuid4(), "meeting", "slot-1")
    results = await asyncio.gather(
        *(tickets.redeem(issued.ticket, "meeting", "slot-1") for _ in range(5)),
        return_exceptions=True,
    )
    assert sum(not isinstance(result, Exception) for result in results) == 1
    assert all(isinstance(r, InvalidTicket) for r in results if isinstance(r, Exception))


async def test_a_prepared_subscription_lapses_unless_a_stream_opens() -> None:
    bus, clock = FakeEventBus(), FakeClock()
    streams = UserStreams(bus, clock, linger_s=0.01)
    idle, active = uuid.uuid4(), uuid.uuid4()
    await streams.prepare(idle)
    await streams.prepare(active)
    async with streams.open(active) as stream:
        await asyncio.sleep(0.05)
        assert streams.subscribed() == {active}
        sent = event(clock, 1)
        await bus.publish_user(active, sent)
        assert await stream.next(1) == sent
    await asyncio.sleep(0.05)
    assert streams.subscribed() == frozenset()
    assert bus._subscriptions == []
