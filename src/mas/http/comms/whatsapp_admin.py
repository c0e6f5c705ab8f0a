"""The admins' WhatsApp: HR sender approvals and every message (``/api/admin/whatsapp``), and the
WhatsApp Manager (``/api/admin/mas/whatsapp-manager``): the business account, templates at the
provider and their mirror, the failures portal, and the fallback credentials (SUPERADMIN,
write-only: no answer ever carries a secret).

A provider that refuses is a 502 (its code in ``detail``); one that is down or not configured,
a 503.
"""

from __future__ import annotations

import enum
import uuid
from typing import Annotated, cast

import msgspec
from litestar import delete, get, patch, post, put
from litestar.params import FromPath, JSONBody, PathParameter, QueryParameter

from mas.core.comms.whatsapp.manager import (
    CredentialReceipt,
    MetaCredentials,
    TemplateChanges,
    TemplateDraft,
    TemplatePreview,
)
from mas.core.comms.whatsapp.model import (
    E164_PATTERN,
    Account,
    Message,
    MessageFilter,
    SenderConfig,
    SenderStatus,
    Template,
)
from mas.core.comms.whatsapp.senders import SenderDecision
from mas.core.platform.paging import Page, PageRequest
from mas.http.comms import Comms, CommsController
from mas.http.params import CallerDep, PageNo, PageSize

PROVIDER_PROBLEMS = (409, 502, 503)
NamePath = Annotated[
    str, PathParameter(pattern=r"^[a-z0-9_]{1,512}$", max_length=512, description="template name")
]


# The query's choices as enums (the document renders a Literal as a list of types); a test keeps
# them equal to the model's Literals.
class SenderStatusChoice(enum.StrEnum):
    PENDING = "PENDING"
    ACTIVE = "ACTIVE"
    DISABLED = "DISABLED"


class DirectionChoice(enum.StrEnum):
    OUTBOUND = "OUTBOUND"
    INBOUND = "INBOUND"


class MessageStatusChoice(enum.StrEnum):
    QUEUED = "QUEUED"
    SENT = "SENT"
    DELIVERED = "DELIVERED"
    READ = "READ"
    FAILED = "FAILED"
    RECEIVED = "RECEIVED"


class AudienceChoice(enum.StrEnum):
    LEAD = "LEAD"
    CANDIDATE = "CANDIDATE"
    STUDENT = "STUDENT"
    SYSTEM = "SYSTEM"


LeadFilter = Annotated[
    uuid.UUID | None,
    QueryParameter(),
]
PeerPhone = Annotated[
    str | None,
    QueryParameter(pattern=E164_PATTERN, max_length=16),
]


class AdminWhatsAppController(CommsController):
    path = "/api/admin/whatsapp"
    tags = ["comms: whatsapp admin"]
    opt = {"policy": "admin"}

    @get("/configs", operation_id="listWhatsAppSenders", summary="HR sender configs")
    async def configs(
        self,
        comms: Comms,
        status: Annotated[SenderStatusChoice | None, QueryParameter()] = None,
        page: PageNo = 1,
        page_size: PageSize = 20,
    ) -> Page[SenderConfig]:
        chosen = cast(SenderStatus | None, status.value if status is not None else None)
        return await comms.whatsapp.senders.page(chosen, PageRequest(page, page_size))

    @patch(
        "/configs/{config_id:uuid}",
        operation_id="decideWhatsAppSender",
        summary="Approve (ACTIVE) or disable an HR sender config",
        opt={
            "rules": {"illegal_transition": "PENDING→ACTIVE, ACTIVE↔DISABLED (409)"},
            "rules_status": 409,
        },
    )
    async def decide(
        self, comms: Comms, config_id: FromPath[uuid.UUID], data: JSONBody[SenderDecision]
    ) -> SenderConfig:
        return await comms.whatsapp.senders.decide(config_id, data)

    @get("/messages", operation_id="listWhatsAppMessages", summary="Every message, newest first")
    async def messages(
        self,
        comms: Comms,
        direction: Annotated[DirectionChoice | None, QueryParameter()] = None,
        status: Annotated[MessageStatusChoice | None, QueryParameter()] = None,
        audience: Annotated[AudienceChoice | None, QueryParameter()] = None,
        peer_phone: PeerPhone = None,
        lead_id: LeadFilter = None,
        page: PageNo = 1,
        page_size: PageSize = 20,
    ) -> Page[Message]:
        flt = msgspec.convert(
            {
                "direction": direction,
                "status": status,
                "audience": audience,
                "peer_phone": peer_phone,
                "raw_lead_id": lead_id,
            },
            MessageFilter,
        )
        return await comms.whatsapp.manager.messages(flt, PageRequest(page, page_size))


class WhatsAppManagerController(CommsController):
    path = "/api/admin/mas/whatsapp-manager"
    tags = ["comms: whatsapp manager"]
    opt = {"policy": "admin"}

    @get(
        "/account",
        operation_id="whatsAppAccount",
        summary="The business account and its phone numbers, from the provider",
        opt={"problems": PROVIDER_PROBLEMS},
    )
    async def account(self, comms: Comms) -> Account:
        return await comms.whatsapp.manager.account()

    @get("/templates", operation_id="listWhatsAppTemplates", summary="The template mirror")
    async def templates(
        self, comms: Comms, page: PageNo = 1, page_size: PageSize = 50
    ) -> Page[Template]:
        return await comms.whatsapp.manager.templates(PageRequest(page, page_size))

    @post(
        "/templates",
        operation_id="createWhatsAppTemplate",
        summary="Create a template at the provider (PENDING until it approves)",
        status_code=201,
        opt={
            "rules": {"template_exists": "no template has this name and language (409)"},
            "rules_status": 409,
            "problems": PROVIDER_PROBLEMS,
        },
    )
    async def create(self, comms: Comms, data: JSONBody[TemplateDraft]) -> Template:
        return await comms.whatsapp.manager.create_template(data)

    @patch(
        "/templates/{name:str}",
        operation_id="updateWhatsAppTemplate",
        summary="Change a template at the provider (one language)",
        opt={"problems": PROVIDER_PROBLEMS},
    )
    async def update(
        self, comms: Comms, name: NamePath, data: JSONBody[TemplateChanges]
    ) -> Template:
        return await comms.whatsapp.manager.update_template(name, data)

    @delete(
        "/templates/{name:str}",
        operation_id="deleteWhatsAppTemplate",
        summary="Delete a template at the provider (the mirror keeps it DISABLED)",
        status_code=200,
        opt={"problems": PROVIDER_PROBLEMS},
    )
    async def remove(self, comms: Comms, name: NamePath) -> list[Template]:
        return await comms.whatsapp.manager.delete_template(name)

    @post(
        "/templates/{name:str}/preview",
        operation_id="previewWhatsAppTemplate",
        summary="Send the template to a test number",
        status_code=201,
        opt={
            "rules": {
                "template_not_approved": "the template is APPROVED (409)",
                "template_params": "params has as many values as the template has parameters",
            },
            "rules_status": {"template_not_approved": 409},
        },
    )
    async def preview(
        self, comms: Comms, caller: CallerDep, name: NamePath, data: JSONBody[TemplatePreview]
    ) -> Message:
        return await comms.whatsapp.manager.preview(caller, name, data)

    @get(
        "/failures",
        operation_id="listWhatsAppFailures",
        summary="FAILED outbound messages, newest first",
    )
    async def failures(
        self, comms: Comms, page: PageNo = 1, page_size: PageSize = 20
    ) -> Page[Message]:
        flt = MessageFilter(direction="OUTBOUND", status="FAILED")
        return await comms.whatsapp.manager.messages(flt, PageRequest(page, page_size))

    @post(
        "/failures/{message_id:uuid}/retry",
        operation_id="retryWhatsAppFailure",
        summary="Send a FAILED message again, verbatim, as a new row (retry_of_id)",
        status_code=201,
        opt={
            "rules": {
                "not_retryable": "the message is a FAILED outbound one with its request (409)",
                "already_retried": "no retry of it is queued or went out (409)",
            },
            "rules_status": 409,
        },
    )
    async def retry(
        self, comms: Comms, caller: CallerDep, message_id: FromPath[uuid.UUID]
    ) -> Message:
        return await comms.whatsapp.sending.retry(message_id, caller.user_id)


class WhatsAppCredentialsController(CommsController):
    path = "/api/admin/mas/whatsapp-manager"
    tags = ["comms: whatsapp manager"]
    opt = {"policy": "superadmin"}

    @put(
        "/credentials",
        operation_id="putWhatsAppCredentials",
        summary="Store Meta's fallback credentials, encrypted (write-only)",
        opt={"problems": (503,)},
    )
    async def put_credentials(
        self, comms: Comms, caller: CallerDep, data: JSONBody[MetaCredentials]
    ) -> CredentialReceipt:
        return await comms.whatsapp.manager.put_credentials(caller, data)
