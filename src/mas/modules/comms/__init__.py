"""Communications' manifest: email and templates, in-app notifications, WhatsApp, telephony.

The domain is large, so its manifest is split by part (``mail``, ``notifications``,
``whatsapp``, ``telephony``): each part module names its tables, repositories and controllers
and builds its services; this module puts them together. It *provides* the ``messenger`` port
to every domain (``Module.provides``): built before any domain, so identity and the CRM, listed
before communications, send through it. Communications is listed after the CRM because it reaches
leads through the CRM's public interface (``CrmServices.contacts``).

Its routes use the policies identity declares: ``sales`` (templates, the send log, a lead's
channels: the CRM's lead scope decides which leads), ``authenticated`` (one's own feed),
``student`` (preferences), ``expert`` (an HR recruiter's WhatsApp), ``admin`` and ``superadmin``.
"""

from __future__ import annotations

import uuid
from typing import Any

from mas.core.comms.handlers import CRONS, HANDLERS, SUBSCRIPTIONS
from mas.core.comms.messenger import CommsMessenger, as_port
from mas.core.comms.ports.leads import LeadDirectory, LeadReach
from mas.core.comms.services import CommsServices
from mas.core.identity.policy import Caller
from mas.core.platform.ports.messenger import Messenger
from mas.core.platform.ports.uow import UnitOfWork
from mas.modules.base import Module
from mas.modules.comms import mail, notifications, telephony, whatsapp
from mas.modules.container import Container

PARTS = (mail, notifications, whatsapp, telephony)


class CrmLeads(LeadDirectory):
    """The CRM's public interface (``CrmServices.contacts``) as communications' lead port."""

    def __init__(self, c: Container) -> None:
        self._c = c

    async def reachable(self, caller: Caller, lead_id: uuid.UUID) -> LeadReach:
        found = await self._c.crm.contacts.reachable(caller, lead_id)
        return LeadReach(
            lead_id=found.lead_id,
            name=found.name,
            email=found.email,
            phone_e164=found.phone_e164,
            owning_sales_head_id=found.owning_sales_head_id,
            assigned_to=found.assigned_to,
        )

    async def visible(self, caller: Caller, lead_ids: list[uuid.UUID]) -> set[uuid.UUID]:
        visible: set[uuid.UUID] = await self._c.crm.contacts.visible(caller, lead_ids)
        return visible

    async def record_contact(
        self,
        uow: UnitOfWork,
        lead_id: uuid.UUID,
        kind: str,
        summary: str,
        actor_id: uuid.UUID | None,
        **data: Any,
    ) -> None:
        await self._c.crm.contacts.record_contact(uow, lead_id, kind, summary, actor_id, **data)


def messenger(c: Container) -> Messenger:
    return as_port(
        CommsMessenger(
            mail=mail.writer(c),
            notify=notifications.writer(c),
            whatsapp=whatsapp.writer(c),
            sms=telephony.writer(c),
        )
    )


def build(c: Container) -> CommsServices:
    return CommsServices(
        messenger=c.messenger,
        mail=mail.build(c),
        notifications=notifications.build(c),
        whatsapp=whatsapp.build(c),
        telephony=telephony.build(c),
    )


MODULE = Module(
    name="comms",
    services=CommsServices,
    build=build,
    tables=[ref for part in PARTS for ref in part.TABLES],
    repositories={name: repo for part in PARTS for name, repo in part.REPOSITORIES.items()},
    handlers=HANDLERS,
    crons=CRONS,
    subscriptions=SUBSCRIPTIONS,
    controllers=[ref for part in PARTS for ref in part.CONTROLLERS],
    provides={"messenger": messenger},
)
