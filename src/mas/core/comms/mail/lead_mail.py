"""A salesperson mails a lead with an editable template (``POST …/leads/{id}/email``).

The CRM's scope decides the lead (404 outside it, acceptance check 14). Only database templates
are sent this way, never a system mail: GLOBAL ones, and the POOL templates of the lead's own
pool (an administrator may use any). The mail row and the lead's EMAIL journal line are written
in one unit of work, so both commit or neither does.

The idempotency key is ``lead-email:{lead}:{client key}`` (a fresh id when the client gives
none): a retry with the same client key answers the first send and writes nothing.
"""

from __future__ import annotations

import uuid

from mas.core.comms.mail.model import EmailTemplate, LeadEmail, LeadEmailSent, OwnerScope
from mas.core.comms.mail.ports import MailUnitOfWork
from mas.core.comms.mail.send_log import LEAD
from mas.core.comms.ports.leads import LeadDirectory, LeadReach
from mas.core.identity.policy import Caller
from mas.core.platform.errors import Conflict, FieldError, NotFound, ValidationFailed
from mas.core.platform.ids import uuid7
from mas.core.platform.messages import OutboxStatus
from mas.core.platform.ports.messenger import Messenger
from mas.core.platform.ports.uow import UnitOfWorkFactory


class LeadMail:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory[MailUnitOfWork],
        messenger: Messenger,
        leads: LeadDirectory,
    ) -> None:
        self._uow = uow
        self._messenger = messenger
        self._leads = leads

    async def send(self, caller: Caller, lead_id: uuid.UUID, request: LeadEmail) -> LeadEmailSent:
        lead = await self._leads.reachable(caller, lead_id)
        if not lead.email:
            raise ValidationFailed(
                "this lead has no email address",
                code="lead_has_no_email",
                errors=[FieldError("lead_id", "the lead has no email address")],
            )
        key = f"lead-email:{lead_id}:{request.idempotency_key or uuid7()}"
        async with self._uow() as uow:
            # A retry answers the first send without a second journal line. Two concurrent
            # retries may both pass here: the outbox still keeps one row (one mail); only the
            # journal line could be written twice.
            earlier = await uow.send_log.by_key(key)
            if earlier is not None:
                return LeadEmailSent(
                    email_id=earlier.id,
                    lead_id=lead_id,
                    to=earlier.to,
                    status=earlier.status,
                    duplicate=True,
                )
            template = _usable(caller, lead, await uow.email_templates.by_key(request.template_key))
            email_id = await self._messenger.email(
                uow,
                template=template.key,
                to=lead.email,
                data=request.data,
                key=key,
                related=(LEAD, lead_id),
                sent_by=caller.user_id,
            )
            await self._leads.record_contact(
                uow,
                lead_id,
                "EMAIL",
                f"Email sent: {template.name}"[:300],
                caller.user_id,
                email_id=str(email_id),
                template=template.key,
            )
            await uow.commit()
        return LeadEmailSent(
            email_id=email_id,
            lead_id=lead_id,
            to=lead.email.strip().lower(),
            status=OutboxStatus.PENDING,
            duplicate=False,
        )


def _usable(caller: Caller, lead: LeadReach, template: EmailTemplate | None) -> EmailTemplate:
    if template is not None and (
        caller.is_admin
        or template.owner_scope is OwnerScope.GLOBAL
        or template.sales_head_id == lead.owning_sales_head_id
    ):
        if not template.is_active:
            raise Conflict(
                f"the email template '{template.key}' is inactive", code="template_inactive"
            )
        return template
    raise NotFound("no such email template for this lead", code="template_not_found")
