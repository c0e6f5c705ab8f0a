"""Messages and events written with the business change, delivered and published after commit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from mas.core.platform.events import DomainEvent
from mas.core.platform.job_model import TERMINAL, JobFilter, JobStatus
from mas.core.platform.messages import OutboxMessage, OutboxStatus
from mas.core.platform.paging import PageRequest
from tests.conftest import make_settings, open_container
from tests.integration.test_smtp import Mailbox, free_port
from tests.support import eventually


class SomethingHappened(DomainEvent, frozen=True, kw_only=True):
    subject = "mas.test.something_happened"
    what: str


async def test_a_message_is_delivered_to_the_local_mailbox(container: Any) -> None:
    sent = await container.platform.messenger.send_email(
        " Student@Example.COM ", "Hello", "Your code: 123456"
    )
    message = (
        await container.platform.delivery.mailbox(None, "student@example.com", PageRequest())
    ).items[0]
    assert message.id == sent.id
    assert message.status is OutboxStatus.SENT
    assert message.transport == "local"
    assert message.body_text == "Your code: 123456"
    runs = await container.jobs.page(JobFilter(task="comms.send_email"), PageRequest())
    assert [r.status for r in runs.items] == [JobStatus.SUCCEEDED]


async def test_nothing_leaves_when_the_transaction_rolls_back(container: Any) -> None:
    async with container.uow() as uow:
        await uow.send(
            OutboxMessage.email(to="a@b.co", subject="s", body_text="b", now=container.clock.now())
        )
        uow.record(SomethingHappened(what="never"))
        # leaving without commit rolls back
    assert (await container.platform.delivery.mailbox(None, None, PageRequest())).total == 0
    assert (await container.jobs.page(JobFilter(), PageRequest())).total == 0


async def test_events_are_published_after_commit_once(container: Any) -> None:
    received: list[dict[str, Any]] = []

    async def handler(subject: str, payload: dict[str, Any]) -> None:
        received.append({"subject": subject, **payload})

    await container.bus.subscribe("mas.test.>", handler)
    async with container.uow() as uow:
        uow.record(SomethingHappened(what="lead created"))
        assert received == [], "nothing is published before the commit"
        await uow.commit()
    await eventually(lambda: received, what="the event on the bus")
    assert [(r["subject"], r["what"]) for r in received] == [
        ("mas.test.something_happened", "lead created")
    ]
    assert received[0]["event_id"]
    assert await container.platform.relay.publish_events() == 0, "already published"


async def test_the_sweepers_finish_what_a_crash_left(container: Any) -> None:
    received: list[str] = []

    async def handler(subject: str, payload: dict[str, Any]) -> None:
        received.append(payload["what"])

    await container.bus.subscribe("mas.test.*", handler)
    message = OutboxMessage.email(
        to="late@b.co", subject="s", body_text="b", now=container.clock.now()
    )
    async with container.uow() as uow:
        # Written as a crash would leave them: rows committed, the after-commit step never ran.
        await uow.outbox.add_message(message)
        await uow.outbox.add_event(message.id, SomethingHappened.subject, {"what": "orphan"})
        await uow.session.commit()
    await container.jobs.enqueue("events.relay_outbox")
    await container.jobs.enqueue("comms.dispatch_outbox")
    await container.jobs.enqueue("comms.dispatch_outbox")  # a second sweep sends nothing more
    assert received == ["orphan"]
    delivered = (await container.platform.delivery.mailbox(None, "late@b.co", PageRequest())).items[
        0
    ]
    assert delivered.status is OutboxStatus.SENT
    sends = await container.jobs.page(JobFilter(task="comms.send_email"), PageRequest())
    assert [r.status for r in sends.items] == [JobStatus.SUCCEEDED]


@pytest.fixture
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


async def test_smtp_delivery_end_to_end(
    sqlite_url: str, tmp_path: Path, smtp_server: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp_server
    settings = make_settings(
        sqlite_url,
        tmp_path,
        mail_transport="smtp",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_starttls=False,
    )
    c = await open_container(settings)
    try:
        await c.platform.messenger.send_email("learner@example.com", "Welcome", "Hi there")
        await c.platform.messenger.send_email("nobody@example.com", "Lost", "No such user")

        async def both_sends_finished() -> bool:
            runs = await c.jobs.page(JobFilter(task="comms.send_email"), PageRequest())
            return runs.total == 2 and all(r.status in TERMINAL for r in runs.items)

        await eventually(both_sends_finished, what="both send runs to finish")
        assert [(to, msg["Subject"]) for _, to, msg in mailbox.received] == [
            (["learner@example.com"], "Welcome")
        ]
        box = {
            m.recipient: m
            for m in (await c.platform.delivery.mailbox(None, None, PageRequest())).items
        }
        assert box["learner@example.com"].status is OutboxStatus.SENT
        assert box["learner@example.com"].transport == "smtp"
        refused = box["nobody@example.com"]
        assert refused.status is OutboxStatus.DEAD, "a 550 is not retried"
        assert "550" in (refused.last_error or "")
        runs = await c.jobs.page(JobFilter(task="comms.send_email"), PageRequest())
        assert sorted(r.status.value for r in runs.items) == ["dead", "succeeded"]
    finally:
        await c.close()


async def test_unconfigured_smtp_parks_messages_until_configured(
    sqlite_url: str, tmp_path: Path, smtp_server: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp_server
    unset = make_settings(sqlite_url, tmp_path, mail_transport="smtp", smtp_host="")
    c = await open_container(unset)
    try:
        await c.platform.messenger.send_email("waiting@example.com", "Code", "123456")
        parked = (await c.platform.delivery.mailbox(None, None, PageRequest())).items[0]
        assert parked.status is OutboxStatus.PENDING_CONFIG
        await c.jobs.enqueue("comms.dispatch_outbox")
        assert mailbox.received == [], "still no transport: nothing is dropped or sent"
    finally:
        await c.close()

    configured = make_settings(
        sqlite_url,
        tmp_path,
        mail_transport="smtp",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_starttls=False,
    )
    c = await open_container(configured)
    try:
        await c.jobs.enqueue("comms.dispatch_outbox")
        assert [to for _, to, _ in mailbox.received] == [["waiting@example.com"]]
        sent = (await c.platform.delivery.mailbox(None, None, PageRequest())).items[0]
        assert sent.status is OutboxStatus.SENT
    finally:
        await c.close()


async def test_a_broker_outage_after_commit_loses_nothing(container: Any) -> None:
    class DownQueue:
        async def send(self, task: str, run_id: Any) -> None:
            raise ConnectionError("broker unreachable")

    real_queue = container.jobs._queue
    container.jobs._queue = DownQueue()
    message = await container.platform.messenger.send_email("later@b.co", "Hi", "body")
    container.jobs._queue = real_queue
    box = await container.platform.delivery.mailbox(None, "later@b.co", PageRequest())
    assert box.items[0].id == message.id, "the write stands"
    assert box.items[0].status is OutboxStatus.PENDING
    # Its send run is recorded but never reached the broker: the reaper sends it again.
    from datetime import timedelta

    later = container.clock.now() + timedelta(minutes=11)
    container.jobs._clock = type("Later", (), {"now": staticmethod(lambda: later)})()
    assert await container.jobs.reap_stuck() == 1
    delivered = (
        await container.platform.delivery.mailbox(None, "later@b.co", PageRequest())
    ).items[0]
    assert delivered.status is OutboxStatus.SENT
