"""The send log (``GET /api/sales/emails-sent``): who sees which sent mail.

An administrator sees every row. Anyone else filtering by a lead must be able to see the lead
(the CRM's scope: 404 otherwise) and then sees every mail about it; without a lead they see
the mails they sent themselves.
"""

from __future__ import annotations

import uuid

from mas.core.comms.mail.model import SendLogFilter, SentEmail
from mas.core.comms.mail.ports import MailUnitOfWork
from mas.core.comms.ports.leads import LeadDirectory
from mas.core.identity.policy import Caller
from mas.core.platform.messages import OutboxStatus
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.uow import UnitOfWorkFactory

LEAD = "raw_lead"
"""``related_type`` of a mail to a CRM lead."""


class SendLog:
    def __init__(self, *, uow: UnitOfWorkFactory[MailUnitOfWork], leads: LeadDirectory) -> None:
        self._uow = uow
        self._leads = leads

    async def page(
        self,
        caller: Caller,
        req: PageRequest,
        *,
        lead_id: uuid.UUID | None = None,
        status: OutboxStatus | None = None,
    ) -> Page[SentEmail]:
        if lead_id is not None:
            if not caller.is_admin:
                await self._leads.reachable(caller, lead_id)
            flt = SendLogFilter(related=(LEAD, lead_id), status=status)
        else:
            flt = SendLogFilter(sent_by=None if caller.is_admin else caller.user_id, status=status)
        async with self._uow() as uow:
            return await uow.send_log.page(flt, req)
