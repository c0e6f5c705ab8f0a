"""The engine's admin actions (workflow.md §7): retry a FAILED enrollment, cancel a live one,
retry every FAILED enrollment of a workflow. ADMIN and SUPERADMIN only."""

from __future__ import annotations

import uuid

from litestar import post
from litestar.params import FromPath

from mas.core.workflow.runs.model import Enrollment, RetryResult
from mas.http.workflow import Workflow, WorkflowController

RETRY_RULES = {"illegal_transition": "only a FAILED enrollment is retried (409)"}
CANCEL_RULES = {
    "illegal_transition": "a COMPLETED, EXITED or CANCELLED enrollment stays as it is (409)"
}


class EnrollmentRunController(WorkflowController):
    path = "/api/admin/workflows"
    tags = ["workflows: enrollments"]
    opt = {"policy": "admin"}

    @post(
        "/enrollments/{enrollment_id:uuid}/retry",
        operation_id="workflowRetryEnrollment",
        summary="FAILED → ACTIVE: re-run the failed node as attempt + 1 (a new node run)",
        status_code=200,
        opt={"rules": RETRY_RULES, "rules_status": 409, "problems": (404,)},
    )
    async def retry(self, workflow: Workflow, enrollment_id: FromPath[uuid.UUID]) -> Enrollment:
        return await workflow.runs.engine.retry(enrollment_id)

    @post(
        "/enrollments/{enrollment_id:uuid}/cancel",
        operation_id="workflowCancelEnrollment",
        summary="ACTIVE, WAITING or FAILED → CANCELLED (nothing more is sent)",
        status_code=200,
        opt={"rules": CANCEL_RULES, "rules_status": 409, "problems": (404,)},
    )
    async def cancel(self, workflow: Workflow, enrollment_id: FromPath[uuid.UUID]) -> Enrollment:
        return await workflow.runs.engine.cancel(enrollment_id)

    @post(
        "/{workflow_id:uuid}/retry-failed",
        operation_id="workflowRetryFailed",
        summary="Retry every FAILED enrollment of the workflow (each at attempt + 1)",
        status_code=200,
        opt={"problems": (404,)},
    )
    async def retry_failed(
        self, workflow: Workflow, workflow_id: FromPath[uuid.UUID]
    ) -> RetryResult:
        return RetryResult(retried=await workflow.runs.engine.retry_failed(workflow_id))
