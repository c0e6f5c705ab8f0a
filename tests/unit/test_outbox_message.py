"""Outbox messages: their delivery states, and MessageDelivery/Messenger against fakes."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from mas.adapters.fakes.platform import (
    FakeClock,
    FakeEnqueuer,
    FakeMailTransport,
    FakePlatformUnitOfWork,
    PlatformStore,
)
from mas.core.platform.errors import InvalidState
from mas.core.platform.handlers import send_emails
from mas.core.platform.messages import Channel, OutboxMessage, OutboxStatus
from mas.core.platform.messenger import DeliveryFailed, MessageDelivery, Messenger
from mas.core.platform.paging import PageRequest
from mas.core.platform.ports.mail import Envelope, TransportError
from mas.core.platform.tasks import MessageBatch

NOW = datetime(2025, 6, 2, 8, 30, tzinfo=UTC)
SENDER = "MAS <no-reply@example.test>"


def email(to: str = "asha@example.test", **kwargs: Any) -> OutboxMessage:
    return OutboxMessage.email(to=to, subject="Welcome", body_text="Hello", now=NOW, **kwargs)


# --- the model ---------------------------------------------------------------------------------


def test_email_normalises_the_recipient_and_starts_pending() -> None:
    message = email("  Asha.Rao@Example.TEST \n", body_html="<p>Hello</p>", template="welcome")
    assert message.recipient == "asha.rao@example.test"
    assert message.status is OutboxStatus.PENDING
    assert message.channel is Channel.EMAIL
    assert message.id.version == 7
    assert (message.created_at, message.attempts) == (NOW, 0)
    assert (message.body_html, message.template) == ("<p>Hello</p>", "welcome")


def _sent(m: OutboxMessage) -> None:
    m.mark_sent("smtp", NOW)


def _waiting(m: OutboxMessage) -> None:
    m.mark_waiting_for_config("smtp")


def _failed(m: OutboxMessage) -> None:
    m.mark_failed("smtp", "451 try later", permanent=False)


def _refused(m: OutboxMessage) -> None:
    m.mark_failed("smtp", "550 no such user", permanent=True)


def _given_up(m: OutboxMessage) -> None:
    m.give_up()


MOVES = {
    "sent": (_sent, OutboxStatus.SENT),
    "waiting": (_waiting, OutboxStatus.PENDING_CONFIG),
    "failed": (_failed, OutboxStatus.FAILED),
    "refused": (_refused, OutboxStatus.DEAD),
    "given_up": (_given_up, OutboxStatus.DEAD),
}
OPEN = [OutboxStatus.PENDING, OutboxStatus.PENDING_CONFIG, OutboxStatus.FAILED]
CLOSED = [OutboxStatus.SENT, OutboxStatus.DEAD]


@pytest.mark.parametrize("start", OPEN)
@pytest.mark.parametrize("move", sorted(MOVES))
def test_an_undelivered_message_can_take_every_move(start: OutboxStatus, move: str) -> None:
    message = email()
    message.status = start
    action, target = MOVES[move]
    action(message)
    assert message.status is target


@pytest.mark.parametrize("start", CLOSED)
@pytest.mark.parametrize("move", sorted(MOVES))
def test_a_sent_or_dead_message_refuses_every_move(start: OutboxStatus, move: str) -> None:
    message = email()
    message.status = start
    action, target = MOVES[move]
    with pytest.raises(InvalidState) as caught:
        action(message)
    assert str(caught.value) == (
        f"outbox message cannot move from '{start.value}' to '{target.value}'"
    )
    assert message.status is start
    assert message.attempts == 0


def test_mark_sent_records_the_transport_and_clears_the_error() -> None:
    message = email()
    message.mark_failed("smtp", "451 try later", permanent=False)
    message.mark_sent("smtp", NOW + timedelta(minutes=1))
    assert message.status is OutboxStatus.SENT
    assert message.transport == "smtp"
    assert message.sent_at == NOW + timedelta(minutes=1)
    assert message.attempts == 2
    assert message.last_error is None


def test_waiting_for_config_says_why_and_is_not_an_attempt() -> None:
    message = email()
    message.mark_waiting_for_config("smtp")
    assert message.last_error == "smtp transport is not configured"
    assert message.transport == "smtp"
    assert message.attempts == 0


def test_mark_failed_counts_and_keeps_2000_characters() -> None:
    message = email()
    message.mark_failed("smtp", "e" * 3000, permanent=False)
    assert message.attempts == 1
    assert message.last_error == "e" * 2000


# --- the mailroom: delivery and the messenger on fakes --------------------------------------


class Mailroom:
    def __init__(self, *, configured: bool = True) -> None:
        self.store = PlatformStore()
        self.transport = FakeMailTransport("smtp", configured=configured)
        self.clock = FakeClock(NOW)
        self.delivery = MessageDelivery(self.uow, self.transport, self.clock, SENDER)
        self.messenger = Messenger(self.uow, self.clock)

    def uow(self) -> FakePlatformUnitOfWork:
        return FakePlatformUnitOfWork(self.store)

    def put(self, message: OutboxMessage) -> OutboxMessage:
        self.store.messages[message.id] = copy.deepcopy(message)
        return message

    def stored(self, message_id: uuid.UUID) -> OutboxMessage:
        return self.store.messages[message_id]


@pytest.fixture
def room() -> Mailroom:
    return Mailroom()


# --- MessageDelivery.deliver -------------------------------------------------------------------


async def test_deliver_sends_once(room: Mailroom) -> None:
    message = room.put(email(body_html="<p>Hello</p>"))
    assert await room.delivery.deliver(message.id) is OutboxStatus.SENT
    assert room.transport.delivered == [
        Envelope(
            message_id=str(message.id),
            sender=SENDER,
            recipient="asha@example.test",
            subject="Welcome",
            body_text="Hello",
            body_html="<p>Hello</p>",
        )
    ]
    stored = room.stored(message.id)
    assert stored.status is OutboxStatus.SENT
    assert (stored.transport, stored.sent_at, stored.attempts) == ("smtp", NOW, 1)

    assert await room.delivery.deliver(message.id) is OutboxStatus.SENT
    assert len(room.transport.delivered) == 1
    assert room.store.events == []  # delivery records no events


async def test_a_message_with_its_own_sender_keeps_it(room: Mailroom) -> None:
    message = email()
    message.sender = "Mentors <mentors@example.test>"
    room.put(message)
    await room.delivery.deliver(message.id)
    assert room.transport.delivered[0].sender == "Mentors <mentors@example.test>"


async def test_deliver_of_a_missing_message_is_none(room: Mailroom) -> None:
    assert await room.delivery.deliver(uuid.uuid4()) is None
    assert room.transport.delivered == []


async def test_without_a_transport_the_message_waits_and_nothing_is_called() -> None:
    room = Mailroom(configured=False)
    message = room.put(email())
    assert await room.delivery.deliver(message.id) is OutboxStatus.PENDING_CONFIG
    assert room.transport.delivered == []
    stored = room.stored(message.id)
    assert stored.status is OutboxStatus.PENDING_CONFIG
    assert stored.last_error == "smtp transport is not configured"

    assert await room.delivery.deliver(message.id) is OutboxStatus.PENDING_CONFIG
    room.transport.configure()
    assert await room.delivery.deliver(message.id) is OutboxStatus.SENT
    assert len(room.transport.delivered) == 1


async def test_a_passing_failure_is_recorded_and_raised_for_a_retry(room: Mailroom) -> None:
    message = room.put(email())
    room.transport.error = TransportError("451 mailbox busy")
    with pytest.raises(DeliveryFailed, match="451 mailbox busy"):
        await room.delivery.deliver(message.id)
    stored = room.stored(message.id)  # committed before raising
    assert stored.status is OutboxStatus.FAILED
    assert (stored.attempts, stored.last_error) == (1, "451 mailbox busy")

    room.transport.error = None
    assert await room.delivery.deliver(message.id) is OutboxStatus.SENT
    assert room.stored(message.id).attempts == 2
    assert len(room.transport.delivered) == 2


async def test_a_permanent_failure_is_dead_without_raising(room: Mailroom) -> None:
    message = room.put(email())
    room.transport.error = TransportError("550 no such user", permanent=True)
    assert await room.delivery.deliver(message.id) is OutboxStatus.DEAD
    stored = room.stored(message.id)
    assert stored.status is OutboxStatus.DEAD
    assert stored.last_error == "550 no such user"

    room.transport.error = None
    assert await room.delivery.deliver(message.id) is OutboxStatus.DEAD
    assert len(room.transport.delivered) == 1  # a dead message is never retried


# --- give_up, undelivered, mailbox -------------------------------------------------------------


async def test_give_up_moves_a_failed_message_to_dead(room: Mailroom) -> None:
    message = room.put(email())
    room.transport.error = TransportError("451 busy")
    with pytest.raises(DeliveryFailed):
        await room.delivery.deliver(message.id)
    await room.delivery.give_up(message.id)
    assert room.stored(message.id).status is OutboxStatus.DEAD


@pytest.mark.parametrize("status", [OutboxStatus.PENDING, OutboxStatus.SENT])
async def test_give_up_leaves_other_messages_alone(room: Mailroom, status: OutboxStatus) -> None:
    message = email()
    message.status = status
    room.put(message)
    commits = room.store.commits
    await room.delivery.give_up(message.id)
    assert room.stored(message.id).status is status
    assert room.store.commits == commits


async def test_give_up_on_a_missing_message_is_quiet(room: Mailroom) -> None:
    await room.delivery.give_up(uuid.uuid4())
    assert room.store.messages == {}


def _in_status(room: Mailroom, status: OutboxStatus) -> OutboxMessage:
    message = email()
    message.status = status
    return room.put(message)


async def test_undelivered_skips_parked_messages_while_no_transport_is_configured() -> None:
    room = Mailroom(configured=False)
    pending = _in_status(room, OutboxStatus.PENDING)
    _in_status(room, OutboxStatus.PENDING_CONFIG)
    for status in (OutboxStatus.FAILED, OutboxStatus.SENT, OutboxStatus.DEAD):
        _in_status(room, status)
    assert await room.delivery.undelivered() == [(pending.id, str(pending.id))]


async def test_undelivered_gives_parked_messages_a_fresh_key_once_configured(
    room: Mailroom,
) -> None:
    pending = _in_status(room, OutboxStatus.PENDING)
    parked = _in_status(room, OutboxStatus.PENDING_CONFIG)
    for status in (OutboxStatus.FAILED, OutboxStatus.SENT, OutboxStatus.DEAD):
        _in_status(room, status)
    assert sorted(await room.delivery.undelivered()) == sorted(
        [(pending.id, str(pending.id)), (parked.id, f"{parked.id}:configured")]
    )


async def test_undelivered_respects_the_limit(room: Mailroom) -> None:
    for _ in range(3):
        _in_status(room, OutboxStatus.PENDING)
    assert len(await room.delivery.undelivered(limit=2)) == 2


async def test_mailbox_filters_by_status_and_recipient(room: Mailroom) -> None:
    a = room.put(email("a@example.test"))
    room.put(email("b@example.test"))
    page = await room.delivery.mailbox(OutboxStatus.PENDING, "a@example.test", PageRequest())
    assert [m.id for m in page.items] == [a.id]


# --- Messenger ---------------------------------------------------------------------------------


async def test_send_email_commits_a_pending_row_for_a_normalised_recipient(room: Mailroom) -> None:
    message = await room.messenger.send_email(
        "  Ravi@Example.TEST ", "Your batch starts", "See you Monday", template="batch_start"
    )
    assert message.recipient == "ravi@example.test"
    stored = room.stored(message.id)
    assert stored.recipient == "ravi@example.test"
    assert stored.status is OutboxStatus.PENDING
    assert (stored.subject, stored.body_text, stored.template) == (
        "Your batch starts",
        "See you Monday",
        "batch_start",
    )
    assert stored.created_at == NOW
    assert room.store.commits == 1
    assert room.transport.delivered == []  # delivery is the send task's job


# --- a unit of work's messages: MessageDelivery.deliver_many, comms.send_emails ---------------


class RefusingOne(FakeMailTransport):
    """Refuses (for now) every envelope to ``refused``."""

    def __init__(self, refused: str) -> None:
        super().__init__("smtp")
        self.refused = refused

    async def deliver(self, envelope: Envelope) -> None:
        self.delivered.append(envelope)
        if envelope.recipient == self.refused:
            raise TransportError("421 try again later")


async def test_deliver_many_sends_each_once_and_returns_those_that_failed() -> None:
    room = Mailroom()
    room.transport = RefusingOne("b@example.test")
    room.delivery = MessageDelivery(room.uow, room.transport, room.clock, SENDER)
    first, second, third = (room.put(email(to=f"{n}@example.test")) for n in "abc")
    room.put(email(to="d@example.test"))  # another unit's: not this run's to send

    failed = await room.delivery.deliver_many([first.id, second.id, third.id])

    assert failed == [second.id]
    assert [room.stored(m.id).status for m in (first, second, third)] == [
        OutboxStatus.SENT,
        OutboxStatus.FAILED,
        OutboxStatus.SENT,
    ]
    assert await room.delivery.deliver_many([first.id, third.id]) == []
    assert [e.recipient for e in room.transport.delivered] == [
        "a@example.test",
        "b@example.test",
        "c@example.test",
    ]


async def test_send_emails_hands_a_failed_message_to_send_email_after_its_backoff() -> None:
    room = Mailroom()
    room.transport = RefusingOne("b@example.test")
    room.delivery = MessageDelivery(room.uow, room.transport, room.clock, SENDER)
    sent, refused = room.put(email(to="a@example.test")), room.put(email(to="b@example.test"))
    jobs = FakeEnqueuer()
    platform: Any = SimpleNamespace(delivery=room.delivery, jobs=jobs)

    await send_emails(platform, MessageBatch([sent.id, refused.id]))

    assert jobs.enqueued == [("comms.send_email", {"message_id": str(refused.id)}, str(refused.id))]
    assert jobs.delayed == [("comms.send_email", timedelta(seconds=30))]
    assert room.stored(sent.id).status is OutboxStatus.SENT
