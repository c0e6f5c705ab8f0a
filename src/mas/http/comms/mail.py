"""Email over HTTP: the editable templates (``/api/sales/email-templates``), the send log
(``/api/sales/emails-sent``) and mailing a lead (``/api/sales/crm/leads/{id}/email``).

Policy ``sales`` (SALES, SALES_HEAD; administrators pass). Who reads and writes which template
is the service's business (``mas.core.comms.mail.templates``); a lead outside the caller's CRM
scope is a 404 from the CRM.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import delete, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter

from mas.core.comms.mail.model import (
    EmailTemplate,
    LeadEmail,
    LeadEmailSent,
    NewTemplate,
    Preview,
    PreviewRequest,
    SentEmail,
    TemplateChanges,
)
from mas.core.platform.messages import OutboxStatus
from mas.core.platform.paging import Page, PageRequest
from mas.http.comms import Comms, CommsController
from mas.http.params import CallerDep, PageNo, PageSize

TEMPLATE_NOT_FOUND = {"template_not_found": "no such template, or not one the caller may read"}
WRITE_RULES = {
    "templates_read_only": "a SALES user reads templates; their head or an admin writes them",
    "global_template_admin_only": "only an administrator writes a GLOBAL template",
}
SAVE_RULES = {
    "template_invalid": "every {{ variable }} of subject and bodies is declared in variables "
    "and nothing but {{ variable }} is used",
    "template_key_taken": "another live template has this key",
}
RENDER_RULES = {
    "missing_variables": "data has a value for every variable the template uses",
    "template_unrenderable": "the rendered subject is one line of at most 300 characters and "
    "the mail within the size limit",
}

WRITE_STATUS = dict.fromkeys(WRITE_RULES, 403)


class EmailTemplateController(CommsController):
    path = "/api/sales/email-templates"
    tags = ["comms: email templates"]
    opt = {"policy": "sales"}

    @get("", operation_id="listEmailTemplates", summary="Email templates the caller may read")
    async def list_templates(
        self, comms: Comms, caller: CallerDep, page: PageNo = 1, page_size: PageSize = 20
    ) -> Page[EmailTemplate]:
        return await comms.mail.templates.page(caller, PageRequest(page, page_size))

    @post(
        "",
        operation_id="createEmailTemplate",
        summary="Create an email template (GLOBAL: ADMIN; POOL: a head's own pool)",
        status_code=201,
        opt={
            "rules": {
                **WRITE_RULES,
                **SAVE_RULES,
                "not_your_pool": "a sales head creates templates of their own pool only",
                "pool_head_required": "an administrator names sales_head_id for a POOL template",
                "global_template_has_no_pool": "a GLOBAL template has no sales_head_id",
            },
            "rules_status": {
                **WRITE_STATUS,
                "not_your_pool": 403,
                "template_invalid": 422,
                "template_key_taken": 409,
                "pool_head_required": 422,
                "global_template_has_no_pool": 422,
            },
        },
    )
    async def create_template(
        self, comms: Comms, caller: CallerDep, data: JSONBody[NewTemplate]
    ) -> EmailTemplate:
        return await comms.mail.templates.create(caller, data)

    @get(
        "/{template_id:uuid}",
        operation_id="getEmailTemplate",
        summary="One email template",
        opt={"rules": TEMPLATE_NOT_FOUND, "rules_status": 404},
    )
    async def get_template(
        self, comms: Comms, caller: CallerDep, template_id: FromPath[uuid.UUID]
    ) -> EmailTemplate:
        return await comms.mail.templates.get(caller, template_id)

    @patch(
        "/{template_id:uuid}",
        operation_id="updateEmailTemplate",
        summary="Edit an email template (absent fields stay as they are)",
        opt={
            "rules": {**TEMPLATE_NOT_FOUND, **WRITE_RULES, **SAVE_RULES},
            "rules_status": {
                "template_not_found": 404,
                **WRITE_STATUS,
                "template_invalid": 422,
                "template_key_taken": 409,
            },
        },
    )
    async def update_template(
        self,
        comms: Comms,
        caller: CallerDep,
        template_id: FromPath[uuid.UUID],
        data: JSONBody[TemplateChanges],
    ) -> EmailTemplate:
        return await comms.mail.templates.update(caller, template_id, data)

    @delete(
        "/{template_id:uuid}",
        operation_id="deleteEmailTemplate",
        summary="Delete an email template (soft: its key is free again)",
        status_code=204,
        opt={
            "rules": {**TEMPLATE_NOT_FOUND, **WRITE_RULES},
            "rules_status": {"template_not_found": 404, **WRITE_STATUS},
        },
    )
    async def delete_template(
        self, comms: Comms, caller: CallerDep, template_id: FromPath[uuid.UUID]
    ) -> None:
        await comms.mail.templates.delete(caller, template_id)

    @post(
        "/{template_id:uuid}/preview",
        operation_id="previewEmailTemplate",
        summary="Render a template with sample data (nothing is sent)",
        status_code=200,
        opt={
            "rules": {**TEMPLATE_NOT_FOUND, **RENDER_RULES},
            "rules_status": {
                "template_not_found": 404,
                "missing_variables": 422,
                "template_unrenderable": 422,
            },
        },
    )
    async def preview_template(
        self,
        comms: Comms,
        caller: CallerDep,
        template_id: FromPath[uuid.UUID],
        data: JSONBody[PreviewRequest],
    ) -> Preview:
        return await comms.mail.templates.preview(caller, template_id, data.data)


class SendLogController(CommsController):
    path = "/api/sales/emails-sent"
    tags = ["comms: email templates"]
    opt = {"policy": "sales"}

    @get(
        "",
        operation_id="listSentEmails",
        summary="The send log: a lead's mails, else the caller's own (ADMIN: every mail)",
        description="Statuses are the outbox's: pending = QUEUED, failed = QUEUED for a retry, "
        "sent = SENT, dead = FAILED, pending_config = SUPPRESSED (mail not configured).",
        opt={
            "rules": {"lead_not_found": "lead_id names a lead the caller can see"},
            "rules_status": 404,
        },
    )
    async def list_sent(
        self,
        comms: Comms,
        caller: CallerDep,
        lead_id: Annotated[
            uuid.UUID | None, QueryParameter(description="mails to this lead")
        ] = None,
        status: Annotated[OutboxStatus | None, QueryParameter(description="one status")] = None,
        page: PageNo = 1,
        page_size: PageSize = 20,
    ) -> Page[SentEmail]:
        return await comms.mail.send_log.page(
            caller, PageRequest(page, page_size), lead_id=lead_id, status=status
        )


class LeadEmailController(CommsController):
    path = "/api/sales/crm"
    tags = ["crm: my leads"]
    opt = {"policy": "sales", "page": "crm.leads"}

    @post(
        "/leads/{lead_id:uuid}/email",
        operation_id="emailLead",
        summary="Mail a lead with an email template (queued; journaled on the lead)",
        status_code=202,
        opt={
            "rules": {
                "lead_not_found": "the lead is in the caller's scope",
                "template_not_found": "template_key names a GLOBAL template or one of the "
                "lead's pool",
                "template_inactive": "the template is active",
                "lead_has_no_email": "the lead has an email address",
                "invalid_address": "the lead's email address is deliverable",
                **RENDER_RULES,
            },
            "rules_status": {
                "lead_not_found": 404,
                "template_not_found": 404,
                "template_inactive": 409,
                "lead_has_no_email": 422,
                "invalid_address": 422,
                "missing_variables": 422,
                "template_unrenderable": 422,
            },
        },
    )
    async def email_lead(
        self,
        comms: Comms,
        caller: CallerDep,
        lead_id: FromPath[uuid.UUID],
        data: JSONBody[LeadEmail],
    ) -> LeadEmailSent:
        return await comms.mail.lead_mail.send(caller, lead_id, data)
