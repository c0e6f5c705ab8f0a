"""Mr. Hire's email templates over HTTP (``/api/mr-hire/workflow/email-templates``, workflow.md
§7): the communications domain's templates of category HIRE.

Policy ``authenticated``: any signed-in user (workflow.md §2: no admin gate); with
``X-Platform: mr-hire`` the platform rule applies first (a token issued for mr-hire, a
recruiter's or an administrator's role). Each user reads and writes the templates they
created; an administrator, all of them (``mas.core.comms.mail.hire_templates``). These routes
live in communications because the templates are its rows: the workflow domain's HTTP package
may not import this one.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, delete, get, post, put
from litestar.params import FromPath, JSONBody

from mas.core.comms.mail.hire_templates import HireTemplate
from mas.core.comms.mail.model import EmailTemplate
from mas.core.platform.paging import Page, PageRequest
from mas.http.comms import Comms, CommsController
from mas.http.params import CallerDep, PageNo, PageSize, refuse_coerced_bools

NOT_FOUND = {
    "template_not_found": "a live HIRE template the caller created (an administrator: any)"
}
SAVE_RULES = {
    "template_invalid": "every {{ variable }} of subject and bodies is declared in variables "
    "and nothing but {{ variable }} is used",
    "template_key_taken": "no other live template (of any category or owner) has this key",
}
SAVE_STATUS = {"template_invalid": 422, "template_key_taken": 409}


class HireEmailTemplateController(CommsController):
    path = "/api/mr-hire/workflow/email-templates"
    tags = ["mr-hire: workflow"]
    opt = {"policy": "authenticated"}

    @get(
        "",
        operation_id="listHireEmailTemplates",
        summary="The caller's Mr. Hire email templates (an administrator: all), by key",
    )
    async def list_templates(
        self, comms: Comms, caller: CallerDep, page: PageNo = 1, page_size: PageSize = 20
    ) -> Page[EmailTemplate]:
        return await comms.mail.hire_templates.page(caller, PageRequest(page, page_size))

    @post(
        "",
        operation_id="createHireEmailTemplate",
        summary="Create a Mr. Hire email template (category HIRE, owned by the caller)",
        status_code=201,
        opt={"rules": SAVE_RULES, "rules_status": SAVE_STATUS},
    )
    async def create_template(
        self,
        comms: Comms,
        caller: CallerDep,
        request: Request[Any, Any, Any],
        data: JSONBody[HireTemplate],
    ) -> EmailTemplate:
        await refuse_coerced_bools(request, "is_active")
        return await comms.mail.hire_templates.create(caller, data)

    @get(
        "/{template_id:uuid}",
        operation_id="getHireEmailTemplate",
        summary="One of the caller's Mr. Hire email templates",
        opt={"rules": NOT_FOUND, "rules_status": 404},
    )
    async def get_template(
        self, comms: Comms, caller: CallerDep, template_id: FromPath[uuid.UUID]
    ) -> EmailTemplate:
        return await comms.mail.hire_templates.get(caller, template_id)

    @put(
        "/{template_id:uuid}",
        operation_id="replaceHireEmailTemplate",
        summary="Replace a Mr. Hire email template (every field; absent optional ones reset)",
        opt={
            "rules": {**NOT_FOUND, **SAVE_RULES},
            "rules_status": {"template_not_found": 404, **SAVE_STATUS},
        },
    )
    async def replace_template(
        self,
        comms: Comms,
        caller: CallerDep,
        template_id: FromPath[uuid.UUID],
        request: Request[Any, Any, Any],
        data: JSONBody[HireTemplate],
    ) -> EmailTemplate:
        await refuse_coerced_bools(request, "is_active")
        return await comms.mail.hire_templates.replace(caller, template_id, data)

    @delete(
        "/{template_id:uuid}",
        operation_id="deleteHireEmailTemplate",
        summary="Delete a Mr. Hire email template (soft: its key is free again)",
        status_code=204,
        opt={"rules": NOT_FOUND, "rules_status": 404},
    )
    async def delete_template(
        self, comms: Comms, caller: CallerDep, template_id: FromPath[uuid.UUID]
    ) -> None:
        await comms.mail.hire_templates.delete(caller, template_id)
