"""Webhooks in: replies open the 24-hour window, status callbacks move messages forward.

The signature is checked over the raw bytes before anything is read (``BadSignature`` → 401,
nothing stored). A body with a valid signature that is not the provider's shape is kept in
``whatsapp_webhook_events`` for inspection (→ 400). An inbound message is stored once per
(provider, provider id) — providers redeliver — and is filed under the sender who last wrote
to that phone. A status callback is one conditional UPDATE (``model.advances``): an unknown
provider id or a late lower status changes nothing and still answers 200. Concurrent callbacks
share one transaction (``StatusWriter``); each request is answered once its update committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import msgspec

from mas.core.comms.ports.whatsapp import (
    BadSignature,
    BadWebhookBody,
    Provider,
    WhatsAppEvent,
)
from mas.core.comms.whatsapp.model import Message, StatusUpdate, WebhookDelivery
from mas.core.comms.whatsapp.ports import ProviderSource, StatusWriter, WhatsAppUnitOfWork
from mas.core.platform.ids import uuid7
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import DuplicateKey, UnitOfWorkFactory

MAX_KEPT_BODY = 64_000


class WebhookResult(msgspec.Struct, frozen=True, kw_only=True):
    received: int = 0
    duplicates: int = 0
    advanced: int = 0
    ignored: int = 0


class Inbox:
    def __init__(
        self,
        uow: UnitOfWorkFactory[WhatsAppUnitOfWork],
        clock: Clock,
        source: ProviderSource,
        statuses: StatusWriter,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._source = source
        self._statuses = statuses

    async def handshake(self, query: Mapping[str, str]) -> str:
        return await self._source.verify_subscription(query)

    async def receive(
        self, provider: Provider, headers: Mapping[str, str], body: bytes
    ) -> WebhookResult:
        verifier = await self._source.verifier(provider)
        if verifier is None:
            raise BadSignature(f"no {provider} webhook secret is configured")
        try:
            events = verifier.verify_and_parse(headers, body)
        except BadWebhookBody as exc:
            await self._keep(provider, exc.detail, body)
            raise
        if not events:
            return WebhookResult()
        return await self.apply(provider, events)

    async def apply(self, provider: Provider, events: list[WhatsAppEvent]) -> WebhookResult:
        received = duplicates = 0
        messages = [event for event in events if event.kind == "message"]
        if messages:
            async with self._uow() as uow:
                for event in messages:
                    if await self._inbound(uow, provider, event):
                        received += 1
                    else:
                        duplicates += 1
                await uow.commit()
        # Submitted together, in order: they join one batch (and one commit) with the status
        # callbacks other requests are applying at the same moment.
        moved = await asyncio.gather(
            *(
                self._statuses.advance(
                    StatusUpdate(
                        provider=provider,
                        provider_message_id=event.provider_message_id,
                        status=event.status,
                        at=event.timestamp,
                        error_code=event.error_code[:80] if event.error_code else None,
                        error_message=event.error_message[:1000] if event.error_message else None,
                    )
                )
                for event in events
                if event.kind == "status"
            )
        )
        advanced = sum(moved)
        return WebhookResult(
            received=received,
            duplicates=duplicates,
            advanced=advanced,
            ignored=len(moved) - advanced,
        )

    async def _inbound(
        self, uow: WhatsAppUnitOfWork, provider: Provider, event: WhatsAppEvent
    ) -> bool:
        messages = uow.whatsapp_messages
        if await messages.inbound(provider, event.provider_message_id) is not None:
            return False
        last = await messages.last_outbound_to(event.peer_phone)
        message = Message(
            id=uuid7(),
            direction="INBOUND",
            audience=last.audience if last is not None else "SYSTEM",
            peer_phone_e164=event.peer_phone,
            kind="TEXT" if event.message_type in (None, "text", "button") else "MEDIA",
            provider=provider,
            status="RECEIVED",
            created_at=event.timestamp,
            status_at=self._clock.now(),
            raw_lead_id=last.raw_lead_id if last is not None else None,
            candidate_id=last.candidate_id if last is not None else None,
            user_id=last.user_id if last is not None else None,
            sender_config_id=last.sender_config_id if last is not None else None,
            body=event.text[:4096] if event.text else None,
            provider_message_id=event.provider_message_id,
        )
        try:
            await messages.add(message)
        except DuplicateKey:  # the same delivery, concurrently
            return False
        return True

    async def _keep(self, provider: Provider, error: str, body: bytes) -> None:
        async with self._uow() as uow:
            await uow.whatsapp_webhooks.add(
                WebhookDelivery(
                    id=uuid7(),
                    provider=provider,
                    received_at=self._clock.now(),
                    error=error[:1000],
                    body=body[:MAX_KEPT_BODY].decode("utf-8", "replace"),
                )
            )
            await uow.commit()
