"""Mr. Hire's workflow rules over HTTP (``/api/mr-hire/workflow/rules``, workflow.md §7).

Policy ``authenticated``: any signed-in user (workflow.md §2: no admin gate); with
``X-Platform: mr-hire`` the platform rule applies first (a token issued for mr-hire, a
recruiter's or an administrator's role). Each user sees and edits only their own rules —
administrators too: a rule is personal configuration — and another user's rule is a 404.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Request, delete, get, post, put
from litestar.params import FromPath, JSONBody, QueryParameter

from mas.core.platform.paging import Page, PageRequest
from mas.core.workflow.hire.model import HireRule, RuleEvent, RuleFilter, RuleInput
from mas.http.params import CallerDep, PageNo, PageSize, refuse_coerced_bools
from mas.http.workflow import Workflow, WorkflowController

NOT_FOUND = {"rule_not_found": "a live rule of the caller's own (another user's is not found)"}
SAVE_RULES = {
    "invalid_rule": "each email action names a live HIRE email template of the caller's (an "
    "administrator: any), one move_stage action at most, each condition's value fits its "
    "operator (in/not_in: a non-empty list; exists: true/false or none; gt/lt: a number)"
}


class HireRuleController(WorkflowController):
    path = "/api/mr-hire/workflow/rules"
    tags = ["mr-hire: workflow"]
    opt = {"policy": "authenticated"}

    @get("", operation_id="listHireRules", summary="The caller's workflow rules, newest first")
    async def list_rules(
        self,
        workflow: Workflow,
        caller: CallerDep,
        event: Annotated[RuleEvent | None, QueryParameter(description="one event")] = None,
        is_active: Annotated[bool | None, QueryParameter(description="active or not")] = None,
        page: PageNo = 1,
        page_size: PageSize = 20,
    ) -> Page[HireRule]:
        return await workflow.hire.rules.page(
            caller, RuleFilter(event=event, is_active=is_active), PageRequest(page, page_size)
        )

    @post(
        "",
        operation_id="createHireRule",
        summary="Create a workflow rule (owned by the caller)",
        status_code=201,
        opt={"rules": SAVE_RULES},
    )
    async def create_rule(
        self,
        workflow: Workflow,
        caller: CallerDep,
        request: Request[Any, Any, Any],
        data: JSONBody[RuleInput],
    ) -> HireRule:
        await refuse_coerced_bools(request, "is_active")
        return await workflow.hire.rules.create(caller, data)

    @get(
        "/{rule_id:uuid}",
        operation_id="getHireRule",
        summary="One of the caller's workflow rules",
        opt={"rules": NOT_FOUND, "rules_status": 404},
    )
    async def get_rule(
        self, workflow: Workflow, caller: CallerDep, rule_id: FromPath[uuid.UUID]
    ) -> HireRule:
        return await workflow.hire.rules.get(caller, rule_id)

    @put(
        "/{rule_id:uuid}",
        operation_id="replaceHireRule",
        summary="Replace one of the caller's workflow rules (every field)",
        opt={
            "rules": {**NOT_FOUND, **SAVE_RULES},
            "rules_status": {"rule_not_found": 404, "invalid_rule": 422},
        },
    )
    async def replace_rule(
        self,
        workflow: Workflow,
        caller: CallerDep,
        rule_id: FromPath[uuid.UUID],
        request: Request[Any, Any, Any],
        data: JSONBody[RuleInput],
    ) -> HireRule:
        await refuse_coerced_bools(request, "is_active")
        return await workflow.hire.rules.replace(caller, rule_id, data)

    @delete(
        "/{rule_id:uuid}",
        operation_id="deleteHireRule",
        summary="Delete one of the caller's workflow rules (soft)",
        status_code=204,
        opt={"rules": NOT_FOUND, "rules_status": 404},
    )
    async def delete_rule(
        self, workflow: Workflow, caller: CallerDep, rule_id: FromPath[uuid.UUID]
    ) -> None:
        await workflow.hire.rules.delete(caller, rule_id)
