"""Mail with stored attachments (the messenger's ``attachments``: storage keys, read and attached
at delivery): the invoice PDF reaches a real SMTP server as a named PDF part, and a key whose
object is gone kills the message instead of sending it without its attachment."""

from __future__ import annotations

from aiosmtpd.controller import Controller

from mas.adapters.fakes.platform import (
    FakeClock,
    FakeMailTransport,
    FakePlatformUnitOfWork,
    PlatformStore,
)
from mas.adapters.fakes.storage import FakeStorage
from mas.core.platform.messages import OutboxMessage, OutboxStatus
from mas.core.platform.messenger import MessageDelivery
from mas.core.platform.ports.mail import Attachment
from tests.integration.test_smtp import Mailbox, envelope, mailbox, server, transport

__all__ = ["mailbox", "server"]

PDF = b"%PDF-1.3 an invoice"
KEY = "finance/invoices/25-26/0190a000-0000-7000-8000-000000000001.pdf"
NOW = FakeClock().now()


class Mailroom:
    def __init__(self) -> None:
        self.store = PlatformStore()
        self.storage = FakeStorage()
        self.transport = FakeMailTransport("smtp")
        self.delivery = MessageDelivery(
            self.uow, self.transport, FakeClock(), "MAS <mas@example.com>", self.storage
        )

    def uow(self) -> FakePlatformUnitOfWork:
        return FakePlatformUnitOfWork(self.store)

    def put(self, message: OutboxMessage) -> OutboxMessage:
        self.store.messages[message.id] = message
        return message


def invoice_mail(*keys: str) -> OutboxMessage:
    return OutboxMessage.email(
        to="asha@example.com",
        subject="Your tax invoice",
        body_text="Attached.",
        now=NOW,
        attachment_keys=list(keys),
    )


async def test_delivery_attaches_the_stored_object() -> None:
    room = Mailroom()
    await room.storage.put(KEY, PDF, "application/pdf")
    message = room.put(invoice_mail(KEY))
    assert await room.delivery.deliver(message.id) is OutboxStatus.SENT
    [sent] = room.transport.delivered
    assert sent.attachments == [
        Attachment(
            filename="0190a000-0000-7000-8000-000000000001.pdf",
            content_type="application/pdf",
            data=PDF,
        )
    ]


async def test_a_missing_attachment_is_a_dead_message_never_a_bare_mail() -> None:
    room = Mailroom()
    message = room.put(invoice_mail(KEY))
    assert await room.delivery.deliver(message.id) is OutboxStatus.DEAD
    assert room.transport.delivered == []
    assert "is not stored" in (room.store.messages[message.id].last_error or "")


async def test_smtp_sends_the_attachment_as_a_named_part(
    server: Controller, mailbox: Mailbox
) -> None:
    attached = Attachment(filename="invoice.pdf", content_type="application/pdf", data=PDF)
    await transport(server.port).deliver(envelope(attachments=[attached]))
    [(_, _, message)] = mailbox.received
    [part] = list(message.iter_attachments())
    assert part.get_filename() == "invoice.pdf"
    assert part.get_content_type() == "application/pdf"
    assert part.get_payload(decode=True) == PDF
    assert message.get_body(preferencelist=("plain",)) is not None
