"""WhatsApp over HTTP for senders: an HR recruiter's own sender and conversations
(``/api/hr/whatsapp``, EXPERT) and a CRM lead's WhatsApp (``/api/sales/crm/leads/{id}/whatsapp``,
the CRM's lead scope: a lead the caller cannot see is a 404).

Admin routes are in ``whatsapp_admin``, the providers' webhooks in ``whatsapp_webhooks``.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import get, post
from litestar.params import FromPath, HeaderParameter, JSONBody, PathParameter

from mas.core.comms.whatsapp.model import E164_PATTERN, Conversation, Message, SenderConfig
from mas.core.comms.whatsapp.senders import CandidateMessage, NewSender, Outgoing
from mas.core.platform.paging import Page, PageRequest
from mas.http.comms import Comms, CommsController
from mas.http.params import CallerDep, PageNo, PageSize

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        max_length=60,
        description="a retry with the same key is the same message",
        schema_extra={"one_of": None, "type": "string"},
    ),
]
PhonePath = Annotated[
    str, PathParameter(pattern=E164_PATTERN, max_length=16, description="the peer, E.164")
]
SEND_RULES = {
    "template_or_text": "exactly one of template and text is given",
    "template_params": "params has as many values as the template has parameters",
    "template_not_approved": "the template is APPROVED in the mirror (409)",
    "window_closed": "free text only within 24 hours of the peer's last message (409)",
}
SEND_STATUS = {"template_not_approved": 409, "window_closed": 409}


class HrWhatsAppController(CommsController):
    """An HR recruiter's sender config, messages to candidates and conversations."""

    path = "/api/hr/whatsapp"
    tags = ["comms: whatsapp"]
    opt = {"policy": "expert"}

    @post(
        "/config",
        operation_id="registerWhatsAppSender",
        summary="Register my WhatsApp sender (PENDING until an admin approves it)",
        status_code=201,
        opt={
            "rules": {"sender_config_exists": "you have no sender config yet"},
            "rules_status": 409,
        },
    )
    async def register(
        self, comms: Comms, caller: CallerDep, data: JSONBody[NewSender]
    ) -> SenderConfig:
        return await comms.whatsapp.senders.register(caller, data)

    @get(
        "/config",
        operation_id="myWhatsAppSender",
        summary="My WhatsApp sender config (404 before registering)",
        opt={"problems": (404,)},
    )
    async def own(self, comms: Comms, caller: CallerDep) -> SenderConfig:
        return await comms.whatsapp.senders.own(caller)

    @post(
        "/send",
        operation_id="sendCandidateWhatsApp",
        summary="Send a template (or free text within 24 hours) to a candidate",
        status_code=201,
        opt={
            "rules": {**SEND_RULES, "sender_not_active": "your sender config is ACTIVE (403)"},
            "rules_status": {**SEND_STATUS, "sender_not_active": 403},
        },
    )
    async def send(
        self,
        comms: Comms,
        caller: CallerDep,
        data: JSONBody[CandidateMessage],
        idempotency_key: IdempotencyKey = None,
    ) -> Message:
        return await comms.whatsapp.senders.send(caller, data, idempotency_key)

    @get(
        "/conversations",
        operation_id="myWhatsAppConversations",
        summary="My conversations, latest first",
    )
    async def conversations(
        self, comms: Comms, caller: CallerDep, page: PageNo = 1, page_size: PageSize = 20
    ) -> Page[Conversation]:
        return await comms.whatsapp.senders.conversations(caller, PageRequest(page, page_size))

    @get(
        "/conversations/{phone:str}",
        operation_id="myWhatsAppThread",
        summary="My messages with one phone, newest first",
    )
    async def thread(
        self,
        comms: Comms,
        caller: CallerDep,
        phone: PhonePath,
        page: PageNo = 1,
        page_size: PageSize = 50,
    ) -> Page[Message]:
        return await comms.whatsapp.senders.thread(caller, phone, PageRequest(page, page_size))


class LeadWhatsAppController(CommsController):
    """WhatsApp to a lead in the caller's scope (heads: the ``crm.leads`` page)."""

    path = "/api/sales/crm"
    tags = ["comms: whatsapp"]
    opt = {"policy": "sales", "page": "crm.leads"}

    @post(
        "/leads/{lead_id:uuid}/whatsapp",
        operation_id="sendLeadWhatsApp",
        summary="Send an approved template (or free text within 24 hours) to a lead",
        status_code=201,
        opt={
            "rules": {**SEND_RULES, "lead_has_no_phone": "the lead has a phone number"},
            "rules_status": SEND_STATUS,
        },
    )
    async def send(
        self,
        comms: Comms,
        caller: CallerDep,
        lead_id: FromPath[uuid.UUID],
        data: JSONBody[Outgoing],
        idempotency_key: IdempotencyKey = None,
    ) -> Message:
        return await comms.whatsapp.leads.send(caller, lead_id, data, idempotency_key)

    @get(
        "/leads/{lead_id:uuid}/whatsapp",
        operation_id="leadWhatsAppThread",
        summary="The lead's WhatsApp thread, newest first",
    )
    async def thread(
        self,
        comms: Comms,
        caller: CallerDep,
        lead_id: FromPath[uuid.UUID],
        page: PageNo = 1,
        page_size: PageSize = 50,
    ) -> Page[Message]:
        return await comms.whatsapp.leads.thread(caller, lead_id, PageRequest(page, page_size))
