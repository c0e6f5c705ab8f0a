"""The send task and what finishes or repeats a send: the sweeper, the failures portal's retry.

``send`` runs only for a QUEUED row and calls the provider outside any transaction:

- accepted → SENT with the provider's id;
- ``ProviderRejected`` (a verdict: number not on WhatsApp, unknown template) → FAILED with the
  provider's code, not retried;
- ``ProviderUnavailable`` (5xx, 429, timeout) → the error is noted on the row and the task is
  retried (``SEND``'s policy: three retries); after the last, ``failed_for_good`` makes it
  FAILED, listed in the failures portal;
- no provider configured → the row stays QUEUED with ``error_code="not_configured"``; the
  sweeper (every five minutes) resubmits it once a provider is configured.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from mas.core.comms.ports.whatsapp import ProviderRejected, ProviderUnavailable, ProviderUnsupported
from mas.core.comms.whatsapp.errors import AlreadyRetried, NotRetryable, message_not_found
from mas.core.comms.whatsapp.model import NOT_CONFIGURED, Message, SendRequest
from mas.core.comms.whatsapp.ports import ProviderSource, WhatsAppUnitOfWork
from mas.core.comms.whatsapp.tasks import SEND, MessageRef
from mas.core.comms.whatsapp.writer import WhatsAppMessageWriter
from mas.core.platform.ids import uuid7
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.tasks import Enqueuer
from mas.core.platform.ports.uow import UnitOfWorkFactory

log = logging.getLogger("mas.comms")

SWEEP_GRACE = timedelta(minutes=2)
SWEEP_LIMIT = 200


class SendService:
    def __init__(
        self,
        uow: UnitOfWorkFactory[WhatsAppUnitOfWork],
        clock: Clock,
        jobs: Enqueuer,
        source: ProviderSource,
        writer: WhatsAppMessageWriter,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._jobs = jobs
        self._source = source
        self._writer = writer

    async def submit(self, message_id: uuid.UUID, send_after: datetime | None = None) -> None:
        """Hand a committed QUEUED row to the send task (after its quiet hours, if any)."""
        delay = None
        if send_after is not None:
            wait = send_after - self._clock.now()
            delay = wait if wait > timedelta(0) else None
        await self._jobs.submit(SEND, MessageRef(message_id), delay=delay)

    async def send(self, message_id: uuid.UUID) -> None:
        async with self._uow() as uow:
            message = await uow.whatsapp_messages.get(message_id)
        if message is None or message.status != "QUEUED" or message.direction != "OUTBOUND":
            return
        provider = await self._source.current()
        if provider is None:
            message.status_at = self._clock.now()  # a new key for the sweeper's next submit
            message.error_code = NOT_CONFIGURED
            message.error_message = "no WhatsApp provider is configured; the message waits"
            await self._save(message)
            log.warning("whatsapp.not_configured", extra={"message_id": str(message_id)})
            return
        if message.request_payload is None:
            await self._fail(message, "payload_dropped", "the stored request was dropped")
            return
        request = SendRequest.decode(message.request_payload)
        try:
            if request.kind == "TEXT":
                sent = await provider.send_text(to=request.to, body=request.body or "")
            else:
                sent = await provider.send_template(
                    to=request.to,
                    name=request.template or "",
                    language=request.language or "",
                    params=list(request.params),
                    media_url=request.media_url,
                )
        except ProviderRejected as exc:
            await self._fail(message, exc.provider_code, exc.provider_message)
            return
        except ProviderUnsupported as exc:
            await self._fail(message, exc.code, exc.detail)
            return
        except ProviderUnavailable as exc:
            message.error_code = exc.provider_code or exc.code
            message.error_message = exc.detail[:1000]
            await self._save(message)
            raise
        message.status = "SENT"
        message.status_at = self._clock.now()
        message.provider_message_id = sent.provider_message_id
        message.error_code = message.error_message = None
        await self._save(message)

    async def failed_for_good(self, message_id: uuid.UUID) -> None:
        """The last retry failed: the message is FAILED (its last error kept)."""
        async with self._uow() as uow:
            message = await uow.whatsapp_messages.get(message_id)
        if message is not None and message.status == "QUEUED":
            await self._fail(
                message,
                message.error_code or "provider_unavailable",
                message.error_message or "the provider stayed unavailable",
            )

    async def sweep(self) -> int:
        """Once a provider is configured, resubmit the messages that waited for one.

        A lost delivery or an event never relayed is the platform's to finish (the ledger's and
        the outbox's sweepers); what is left here is a send whose run ended without a provider.
        Its key names the time it was last found waiting, so a repeat sweep is one run."""
        if await self._source.current() is None:
            return 0
        async with self._uow() as uow:
            waiting = await uow.whatsapp_messages.waiting_for_provider(
                self._clock.now() - SWEEP_GRACE, SWEEP_LIMIT
            )
        for message in waiting:
            key = f"{message.id}@{message.status_at.isoformat()}"
            await self._jobs.submit(SEND, MessageRef(message.id), key=key)
        return len(waiting)

    async def retry(self, message_id: uuid.UUID, actor_id: uuid.UUID) -> Message:
        """Send a FAILED message again as a new row with the same request, byte for byte."""
        async with self._uow() as uow:
            original = await uow.whatsapp_messages.get(message_id)
            if original is None:
                raise message_not_found(message_id)
            if original.direction != "OUTBOUND" or original.status != "FAILED":
                raise NotRetryable(f"message {message_id} is {original.status}, not FAILED")
            if original.request_payload is None:
                raise NotRetryable(f"message {message_id}'s request was dropped (retention)")
            if await uow.whatsapp_messages.has_live_retry(message_id):
                raise AlreadyRetried(f"message {message_id} was retried already")
            now = self._clock.now()
            retry = Message(
                id=uuid7(),
                direction="OUTBOUND",
                audience=original.audience,
                peer_phone_e164=original.peer_phone_e164,
                kind=original.kind,
                provider=original.provider,
                status="QUEUED",
                created_at=now,
                status_at=now,
                raw_lead_id=original.raw_lead_id,
                candidate_id=original.candidate_id,
                user_id=original.user_id,
                sender_config_id=original.sender_config_id,
                template_name=original.template_name,
                template_language=original.template_language,
                params=list(original.params),
                body=original.body,
                media_key=original.media_key,
                request_payload=original.request_payload,
                retry_of_id=original.id,
                sent_by=actor_id,
            )
            await self._writer.requeue(uow, retry)
            await uow.commit()
        return retry

    async def _fail(self, message: Message, code: str, why: str) -> None:
        message.status = "FAILED"
        message.status_at = self._clock.now()
        message.error_code = code[:80]
        message.error_message = why[:1000]
        await self._save(message)
        log.warning(
            "whatsapp.send_failed", extra={"message_id": str(message.id), "error_code": code}
        )

    async def _save(self, message: Message) -> None:
        async with self._uow() as uow:
            await uow.whatsapp_messages.save(message)
            await uow.commit()
