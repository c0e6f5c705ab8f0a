"""HR recruiters' WhatsApp: their sender config (admin-approved) and their conversations.

A recruiter (EXPERT) registers one sender config; it starts PENDING and sends nothing until an
admin makes it ACTIVE (403 ``sender_not_active``). Their messages go out through the platform's
provider, marked with their config; a reply is filed under the config that last wrote to that
phone, so a recruiter's conversations are the rows carrying their config.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

import msgspec

from mas.core.comms.ports.whatsapp import Provider
from mas.core.comms.whatsapp.errors import (
    SenderConfigExists,
    SenderNotActive,
    TemplateOrText,
    config_not_found,
)
from mas.core.comms.whatsapp.model import (
    Conversation,
    FreeText,
    Language,
    Message,
    MessageFilter,
    Params,
    Phone,
    SenderConfig,
    SenderStatus,
    TemplateName,
)
from mas.core.comms.whatsapp.ports import ProviderSource, WhatsAppUnitOfWork
from mas.core.comms.whatsapp.writer import WhatsAppMessageWriter
from mas.core.identity.policy import Caller
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import DuplicateKey, UnitOfWork, UnitOfWorkFactory

DisplayName = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]


class NewSender(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    phone_e164: Phone
    display_name: DisplayName


class SenderDecision(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    status: Literal["ACTIVE", "DISABLED"]


class TemplateUse(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: TemplateName
    language: Language
    params: Params = []


class Outgoing(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An approved template, or free text inside the 24-hour window: exactly one of them."""

    template: TemplateUse | None = None
    text: FreeText | None = None


class CandidateMessage(Outgoing, frozen=True, kw_only=True, forbid_unknown_fields=True):
    to: Phone
    candidate_id: uuid.UUID | None = None


async def write_outgoing(
    writer: WhatsAppMessageWriter,
    uow: UnitOfWork,
    data: Outgoing,
    *,
    to: str,
    audience: str,
    ref: uuid.UUID | None,
    key: str,
    sent_by: uuid.UUID,
    sender_config_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """The template or the text of ``data`` through the writer (one of them, else 422)."""
    if (data.template is None) == (data.text is None):
        raise TemplateOrText()
    if data.template is not None:
        return await writer.whatsapp(
            uow,
            to=to,
            template=data.template.name,
            language=data.template.language,
            params=list(data.template.params),
            audience=audience,
            ref=ref,
            key=key,
            sent_by=sent_by,
            sender_config_id=sender_config_id,
        )
    assert data.text is not None
    return await writer.text(
        uow,
        to=to,
        body=data.text,
        audience=audience,
        ref=ref,
        key=key,
        sent_by=sent_by,
        sender_config_id=sender_config_id,
    )


class Senders:
    def __init__(
        self,
        uow: UnitOfWorkFactory[WhatsAppUnitOfWork],
        clock: Clock,
        source: ProviderSource,
        writer: WhatsAppMessageWriter,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._source = source
        self._writer = writer

    # --- the recruiter ------------------------------------------------------------------------

    async def register(self, caller: Caller, data: NewSender) -> SenderConfig:
        now = self._clock.now()
        provider: Provider = self._source.name
        config = SenderConfig(
            id=uuid7(),
            owner_user_id=caller.user_id,
            phone_e164=data.phone_e164,
            display_name=data.display_name,
            provider=provider,
            status="PENDING",
            created_at=now,
            updated_at=now,
        )
        async with self._uow() as uow:
            if await uow.whatsapp_senders.of_owner(caller.user_id) is not None:
                raise SenderConfigExists("you have a WhatsApp sender config already")
            try:
                await uow.whatsapp_senders.add(config)
            except DuplicateKey:
                raise SenderConfigExists("you have a WhatsApp sender config already") from None
            await uow.commit()
        return config

    async def own(self, caller: Caller) -> SenderConfig:
        async with self._uow() as uow:
            config = await uow.whatsapp_senders.of_owner(caller.user_id)
        if config is None:
            raise config_not_found()
        return config

    async def send(self, caller: Caller, data: CandidateMessage, key: str | None) -> Message:
        async with self._uow() as uow:
            config = await uow.whatsapp_senders.of_owner(caller.user_id)
            if config is None or config.status != "ACTIVE":
                state = config.status if config is not None else "not registered"
                raise SenderNotActive(f"your WhatsApp sender config is {state}, not ACTIVE")
            message_id = await write_outgoing(
                self._writer,
                uow,
                data,
                to=data.to,
                audience="CANDIDATE",
                ref=data.candidate_id,
                key=f"hr:{caller.user_id}:{key}" if key else f"hr:{uuid7()}",
                sent_by=caller.user_id,
                sender_config_id=config.id,
            )
            message = await uow.whatsapp_messages.get(message_id)
            await uow.commit()
        assert message is not None
        return message

    async def conversations(self, caller: Caller, req: PageRequest) -> Page[Conversation]:
        async with self._uow() as uow:
            config = await uow.whatsapp_senders.of_owner(caller.user_id)
            if config is None:
                return Page(items=[], total=0, page=req.page, page_size=req.page_size)
            return await uow.whatsapp_messages.conversations(config.id, req)

    async def thread(self, caller: Caller, phone: str, req: PageRequest) -> Page[Message]:
        async with self._uow() as uow:
            config = await uow.whatsapp_senders.of_owner(caller.user_id)
            if config is None:
                return Page(items=[], total=0, page=req.page, page_size=req.page_size)
            flt = MessageFilter(peer_phone=phone, sender_config_id=config.id)
            return await uow.whatsapp_messages.page(flt, req)

    # --- the admin ----------------------------------------------------------------------------

    async def page(self, status: SenderStatus | None, req: PageRequest) -> Page[SenderConfig]:
        async with self._uow() as uow:
            return await uow.whatsapp_senders.page(status, req)

    async def decide(self, config_id: uuid.UUID, data: SenderDecision) -> SenderConfig:
        async with self._uow() as uow:
            config = await uow.whatsapp_senders.get(config_id)
            if config is None:
                raise config_not_found()
            config.move(data.status, self._clock.now())
            await uow.whatsapp_senders.save(config)
            await uow.commit()
        return config
