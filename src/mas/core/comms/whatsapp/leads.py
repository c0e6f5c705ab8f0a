"""WhatsApp to a CRM lead, within the caller's lead scope (the CRM decides: 404 outside it).

The message row and the lead's journal line (``WHATSAPP``) are written in one unit of work, so
both commit or neither does. The lead's thread is what we sent it and what its phone sent us.
"""

from __future__ import annotations

import uuid

from mas.core.comms.ports.leads import LeadDirectory
from mas.core.comms.whatsapp.errors import LeadHasNoPhone
from mas.core.comms.whatsapp.model import Message, MessageFilter
from mas.core.comms.whatsapp.ports import WhatsAppUnitOfWork
from mas.core.comms.whatsapp.senders import Outgoing, write_outgoing
from mas.core.comms.whatsapp.writer import WhatsAppMessageWriter
from mas.core.identity.policy import Caller
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.uow import UnitOfWorkFactory


class LeadWhatsApp:
    def __init__(
        self,
        uow: UnitOfWorkFactory[WhatsAppUnitOfWork],
        leads: LeadDirectory,
        writer: WhatsAppMessageWriter,
    ) -> None:
        self._uow = uow
        self._leads = leads
        self._writer = writer

    async def send(
        self, caller: Caller, lead_id: uuid.UUID, data: Outgoing, key: str | None
    ) -> Message:
        lead = await self._leads.reachable(caller, lead_id)
        if not lead.phone_e164:
            raise LeadHasNoPhone(f"lead {lead_id} has no phone number")
        idempotency_key = f"lead:{lead_id}:{caller.user_id}:{key}" if key else f"lead:{uuid7()}"
        async with self._uow() as uow:
            known = await uow.whatsapp_messages.by_key(idempotency_key)
            if known is not None:
                return known
            message_id = await write_outgoing(
                self._writer,
                uow,
                data,
                to=lead.phone_e164,
                audience="LEAD",
                ref=lead_id,
                key=idempotency_key,
                sent_by=caller.user_id,
            )
            message = await uow.whatsapp_messages.get(message_id)
            assert message is not None
            what = f"template {message.template_name}" if message.template_name else "a message"
            await self._leads.record_contact(
                uow,
                lead_id,
                "WHATSAPP",
                f"WhatsApp: {what}",
                caller.user_id,
                message_id=str(message_id),
            )
            await uow.commit()
        return message

    async def thread(self, caller: Caller, lead_id: uuid.UUID, req: PageRequest) -> Page[Message]:
        lead = await self._leads.reachable(caller, lead_id)
        async with self._uow() as uow:
            flt = MessageFilter(raw_lead_id=lead_id, lead_phone=lead.phone_e164)
            return await uow.whatsapp_messages.page(flt, req)
