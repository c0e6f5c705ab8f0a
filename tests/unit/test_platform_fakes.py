"""The platform fakes keep the promises of the adapters they stand in for."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import pytest

from mas.adapters.fakes.platform import (
    FakeClock,
    FakeEnqueuer,
    FakePlatformUnitOfWork,
    PlatformStore,
)
from mas.core.platform.events import DomainEvent
from mas.core.platform.messages import OutboxMessage
from mas.core.platform.ports.uow import DuplicateKey
from mas.core.platform.tasks import SEND_EMAIL, MessageRef

NOW = datetime(2025, 6, 2, 8, 30, tzinfo=UTC)


class Happened(DomainEvent, frozen=True, kw_only=True):
    subject: ClassVar[str] = "mas.test.happened"
    what: str


def email(to: str = "asha@example.test") -> OutboxMessage:
    return OutboxMessage.email(to=to, subject="Hi", body_text="Hello", now=NOW)


async def test_leaving_without_commit_puts_every_write_back() -> None:
    store = PlatformStore()
    async with FakePlatformUnitOfWork(store) as uow:
        await uow.send(email())
        await uow.jobs.schedule(uuid.uuid4(), "crm.assign_leads", NOW)
        assert await uow.leases.acquire("scheduler", "a", NOW, 10)
        uow.record(Happened(what="never"))
    assert (store.messages, store.run_at, store.leases, store.events) == ({}, [], {}, [])
    assert store.commits == 0


async def test_commit_writes_recorded_events_and_hands_the_ids_to_the_relay() -> None:
    store = PlatformStore()
    relayed: list[tuple[list[uuid.UUID], list[uuid.UUID]]] = []

    async def relay(event_ids: list[uuid.UUID], message_ids: list[uuid.UUID]) -> None:
        relayed.append((event_ids, message_ids))

    message = email()
    async with FakePlatformUnitOfWork(store, after_commit=relay) as uow:
        uow.record(Happened(what="lead created"))
        await uow.send(message)
        await uow.commit()
    [event] = store.events
    assert (event.subject, event.payload) == ("mas.test.happened", {"what": "lead created"})
    assert relayed == [([event.id], [message.id])]
    assert list(store.messages) == [message.id]


async def test_an_outbox_row_id_is_unique() -> None:
    store = PlatformStore()
    message = email()
    async with FakePlatformUnitOfWork(store) as uow:
        await uow.send(message)
        with pytest.raises(DuplicateKey):
            await uow.outbox.add_message(message)


async def test_a_lease_has_one_holder_until_it_lapses() -> None:
    async with FakePlatformUnitOfWork(PlatformStore()) as uow:
        assert await uow.leases.acquire("scheduler", "a", NOW, 10)
        assert not await uow.leases.acquire("scheduler", "b", NOW, 10)
        assert await uow.leases.acquire("scheduler", "a", NOW, 10), "the holder renews"
        later = NOW + timedelta(seconds=11)
        assert await uow.leases.acquire("scheduler", "b", later, 10)
        await uow.leases.release("scheduler", "a")  # not the holder: nothing happens
        assert not await uow.leases.acquire("scheduler", "a", later, 10)
        await uow.leases.release("scheduler", "b")
        assert await uow.leases.acquire("scheduler", "a", later, 10)


async def test_the_enqueuer_submits_by_declaration_and_skips_a_held_key() -> None:
    jobs = FakeEnqueuer(FakeClock(NOW))
    message_id = uuid.uuid4()
    first = await jobs.submit(SEND_EMAIL, MessageRef(message_id))
    again = await jobs.submit(SEND_EMAIL, MessageRef(message_id), delay=timedelta(minutes=1))
    assert (
        jobs.enqueued
        == [("comms.send_email", {"message_id": str(message_id)}, str(message_id))] * 2
    )
    assert (again.status, again.duplicate_of) == ("skipped", first.id)
    assert jobs.delayed == [("comms.send_email", timedelta(minutes=1))]


def test_the_clock_reads_the_same_instant_as_a_datetime_and_as_seconds() -> None:
    clock = FakeClock(NOW)
    clock.advance(minutes=1, seconds=0.5)
    assert clock.now() == NOW + timedelta(minutes=1, seconds=0.5)
    assert clock() == clock.timestamp() == NOW.timestamp() + 60.5
    clock.set(1000.0)
    assert clock() == 1000.0
