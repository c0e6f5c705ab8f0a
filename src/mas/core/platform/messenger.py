"""Deliver outbox messages through the configured transport."""

from __future__ import annotations

import logging
import uuid

from mas.core.platform.errors import NotFound
from mas.core.platform.messages import OutboxMessage, OutboxStatus
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.mail import Attachment, Envelope, MailTransport, TransportError
from mas.core.platform.ports.storage import Storage
from mas.core.platform.ports.uow import PlatformUnitOfWork, UnitOfWorkFactory

log = logging.getLogger("mas.comms")


class DeliveryFailed(Exception):
    """Raised to the job runner so the send is retried with backoff."""


class MessageDelivery:
    def __init__(
        self,
        uow: UnitOfWorkFactory[PlatformUnitOfWork],
        transport: MailTransport,
        clock: Clock,
        sender: str,
        storage: Storage | None = None,
    ) -> None:
        """``storage``: where a message's ``attachment_keys`` are read from at delivery."""
        self._uow = uow
        self._transport = transport
        self._clock = clock
        self._sender = sender
        self._storage = storage

    async def deliver(self, message_id: uuid.UUID) -> OutboxStatus | None:
        """Send one message at most once; returns its status, or None when it does not exist."""
        async with self._uow() as uow:
            message = await uow.outbox.get_message(message_id)
            if message is None:
                log.warning("outbox.message_missing", extra={"message_id": str(message_id)})
                return None
            if message.status in (OutboxStatus.SENT, OutboxStatus.DEAD):
                return message.status
            if not self._transport.configured:
                message.mark_waiting_for_config(self._transport.name)
                await uow.outbox.save_message(message)
                await uow.commit()
                return message.status
            error: TransportError | None = None
            try:
                await self._transport.deliver(await self._envelope(message))
            except TransportError as exc:
                error = exc
            if error is None:
                message.mark_sent(self._transport.name, self._clock.now())
            else:
                message.mark_failed(self._transport.name, str(error), permanent=error.permanent)
            await uow.outbox.save_message(message)
            await uow.commit()
        if message.status is OutboxStatus.FAILED:
            raise DeliveryFailed(message.last_error or "delivery failed")
        return message.status

    async def deliver_many(self, message_ids: list[uuid.UUID]) -> list[uuid.UUID]:
        """``deliver`` each in turn (each commits its own status, so a crash repeats none that
        was recorded sent); returns those that failed and may be retried."""
        failed: list[uuid.UUID] = []
        for message_id in message_ids:
            try:
                await self.deliver(message_id)
            except DeliveryFailed:
                failed.append(message_id)
        return failed

    async def give_up(self, message_id: uuid.UUID) -> None:
        """The job ran out of attempts: the message is dead and stays visible."""
        async with self._uow() as uow:
            message = await uow.outbox.get_message(message_id)
            if message is not None and message.status is OutboxStatus.FAILED:
                message.give_up()
                await uow.outbox.save_message(message)
                await uow.commit()

    async def undelivered(self, limit: int = 500) -> list[tuple[uuid.UUID, str]]:
        """(message id, idempotency key) of messages the sweeper should hand to the send task.

        A pending message whose send run was lost keeps the key of its first run, so a run that
        does exist turns the sweep into a skip. Messages parked for want of a transport get a
        fresh key once one is configured. Failed ones are the job ledger's to retry.
        """
        statuses = [OutboxStatus.PENDING]
        if self._transport.configured:
            statuses.append(OutboxStatus.PENDING_CONFIG)
        async with self._uow() as uow:
            found = await uow.outbox.unsent_messages(statuses, limit)
        return [
            (mid, str(mid) if status is OutboxStatus.PENDING else f"{mid}:configured")
            for mid, status in found
        ]

    async def mailbox(
        self, status: OutboxStatus | None, recipient: str | None, req: PageRequest
    ) -> Page[OutboxMessage]:
        async with self._uow() as uow:
            return await uow.outbox.messages(status, recipient, req)

    async def _envelope(self, message: OutboxMessage) -> Envelope:
        return Envelope(
            message_id=str(message.id),
            sender=message.sender or self._sender,
            recipient=message.recipient,
            subject=message.subject,
            body_text=message.body_text,
            body_html=message.body_html,
            attachments=[await self._attachment(key) for key in message.attachment_keys or ()],
        )

    async def _attachment(self, key: str) -> Attachment:
        if self._storage is None:
            raise TransportError("attachments need the storage port", permanent=True)
        try:
            data = await self._storage.get(key)
        except NotFound as exc:
            # The sender stores the file before it queues the mail: gone means deleted.
            raise TransportError(f"attachment {key!r} is not stored", permanent=True) from exc
        filename = key.rsplit("/", 1)[-1]
        content_type = (
            "application/pdf" if filename.endswith(".pdf") else "application/octet-stream"
        )
        return Attachment(filename=filename, content_type=content_type, data=data)


class Messenger:
    """Queue an email: an outbox row now, delivery by ``comms.send_email`` after commit.

    Inside another use case, write ``uow.send(OutboxMessage.email(...))`` in that use case's
    unit of work instead, so the message commits (or not) with the business change.
    """

    def __init__(self, uow: UnitOfWorkFactory[PlatformUnitOfWork], clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def send_email(
        self, to: str, subject: str, body_text: str, *, template: str | None = None
    ) -> OutboxMessage:
        message = OutboxMessage.email(
            to=to, subject=subject, body_text=body_text, now=self._clock.now(), template=template
        )
        async with self._uow() as uow:
            await uow.send(message)
            await uow.commit()
        return message
