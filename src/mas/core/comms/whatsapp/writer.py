"""The WhatsApp part's side of the messenger (``Messenger.whatsapp``), and free text.

Every send is a QUEUED ``whatsapp_messages`` row written in the *caller's* unit of work with the
exact request the send task will make (``request_payload``), and a ``WhatsAppQueued`` event
whose subscription submits ``comms.whatsapp.send`` after the commit. Before anything is written:

- a template must be APPROVED in the mirror (409 ``template_not_approved``; the hourly sync
  marks a template deleted at the provider DISABLED, which refuses it here), and get exactly
  its parameter count (422 ``expected 3, got 2``);
- free text needs the peer's inbound message in the last 24 hours (409 ``window_closed``);
- a MARKETING template to a LEAD outside 09:00-21:00 IST waits for the next 09:00
  (``send_after``; the task is submitted with that delay).

``key`` makes a send idempotent: the same key again answers the first row's id, writes nothing.
With no provider configured the row is still written: it stays QUEUED (the send task notes
``error_code="not_configured"``) and goes out once a provider is configured.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import cast

from mas.core.comms.ports.whatsapp import Provider
from mas.core.comms.whatsapp.errors import ParamCountMismatch, TemplateNotApproved, WindowClosed
from mas.core.comms.whatsapp.events import WhatsAppQueued
from mas.core.comms.whatsapp.model import WINDOW, Audience, Message, SendRequest
from mas.core.comms.whatsapp.ports import WhatsAppUnitOfWork
from mas.core.comms.whatsapp.quiet import QuietHours
from mas.core.platform.ids import uuid7
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import DuplicateKey, UnitOfWork


class WhatsAppMessageWriter:
    def __init__(self, provider: Provider, clock: Clock, quiet: QuietHours) -> None:
        self._provider = provider
        self._clock = clock
        self._quiet = quiet

    async def whatsapp(
        self,
        uow: UnitOfWork,
        *,
        to: str,
        template: str,
        language: str,
        params: list[str],
        audience: str,
        ref: uuid.UUID | None,
        key: str,
        sent_by: uuid.UUID | None = None,
        sender_config_id: uuid.UUID | None = None,
        media_url: str | None = None,
    ) -> uuid.UUID:
        """Queue an approved template; the message row's id (the first one's for a known key)."""
        wa = cast(WhatsAppUnitOfWork, uow)
        known = await wa.whatsapp_messages.by_key(key)
        if known is not None:
            return known.id
        found = await wa.whatsapp_templates.get(self._provider, template, language)
        if found is None or found.provider_status != "APPROVED":
            raise TemplateNotApproved(
                template, language, found.provider_status if found is not None else None
            )
        if len(params) != found.param_count:
            raise ParamCountMismatch(found.param_count, len(params))
        now = self._clock.now()
        send_after = None
        if found.category == "MARKETING" and audience == "LEAD":
            send_after = self._quiet.next_allowed(now)
        request = SendRequest(
            kind="TEMPLATE",
            to=to,
            template=template,
            language=language,
            params=list(params),
            media_url=media_url,
        )
        message = self._message(
            request, _audience(audience), ref, key, sent_by, sender_config_id, now, send_after
        )
        message.template_name, message.template_language = template, language
        message.params = list(params)
        message.body = _preview(found.body, params)
        return await self._queue(wa, message)

    async def text(
        self,
        uow: UnitOfWork,
        *,
        to: str,
        body: str,
        audience: str,
        ref: uuid.UUID | None,
        key: str,
        sent_by: uuid.UUID | None = None,
        sender_config_id: uuid.UUID | None = None,
    ) -> uuid.UUID:
        """Queue free text: only inside the 24-hour window the peer's last message opened."""
        wa = cast(WhatsAppUnitOfWork, uow)
        known = await wa.whatsapp_messages.by_key(key)
        if known is not None:
            return known.id
        now = self._clock.now()
        last = await wa.whatsapp_messages.last_inbound_at(to)
        if last is None or now - last > WINDOW:
            raise WindowClosed(to)
        request = SendRequest(kind="TEXT", to=to, body=body)
        message = self._message(
            request, _audience(audience), ref, key, sent_by, sender_config_id, now, None
        )
        message.body = body
        return await self._queue(wa, message)

    async def requeue(self, uow: UnitOfWork, message: Message) -> uuid.UUID:
        """Queue an already built row (the failures portal's retry)."""
        return await self._queue(cast(WhatsAppUnitOfWork, uow), message)

    def _message(
        self,
        request: SendRequest,
        audience: Audience,
        ref: uuid.UUID | None,
        key: str | None,
        sent_by: uuid.UUID | None,
        sender_config_id: uuid.UUID | None,
        now: datetime,
        send_after: datetime | None,
    ) -> Message:
        return Message(
            id=uuid7(),
            direction="OUTBOUND",
            audience=audience,
            peer_phone_e164=request.to,
            kind=request.kind,
            provider=self._provider,
            status="QUEUED",
            created_at=now,
            status_at=now,
            raw_lead_id=ref if audience == "LEAD" else None,
            candidate_id=ref if audience == "CANDIDATE" else None,
            user_id=ref if audience == "STUDENT" else None,
            sender_config_id=sender_config_id,
            request_payload=request.encode(),
            idempotency_key=key,
            sent_by=sent_by,
            send_after=send_after,
        )

    async def _queue(self, wa: WhatsAppUnitOfWork, message: Message) -> uuid.UUID:
        try:
            await wa.whatsapp_messages.add(message)
        except DuplicateKey:
            # A concurrent send with the same key won the insert: answer its row.
            assert message.idempotency_key is not None
            winner = await wa.whatsapp_messages.by_key(message.idempotency_key)
            if winner is None:
                raise
            return winner.id
        wa.record(WhatsAppQueued(message_id=message.id, send_after=message.send_after))
        return message.id


def _audience(value: str) -> Audience:
    if value not in ("LEAD", "CANDIDATE", "STUDENT", "SYSTEM"):
        raise ValueError(f"unknown WhatsApp audience {value!r}")
    return cast(Audience, value)


def _preview(body: str, params: list[str]) -> str:
    for number, value in enumerate(params, start=1):
        body = body.replace(f"{{{{{number}}}}}", value)
    return body[:4096]
