"""How leads enter a workflow and what happened to them (workflow.md §7): manual enrolment,
an on-demand segment scan, the enrollments list, one enrollment with its node runs and path,
the workflow's counters, and a dry run on one lead. ADMIN and SUPERADMIN only."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from mas.core.platform.paging import Page, PageRequest
from mas.core.workflow.model import EnrollmentStatus
from mas.core.workflow.runs.intake import EnrollCounts, EnrollRequest, ScanReport
from mas.core.workflow.runs.model import Enrollment
from mas.core.workflow.runs.simulate import Simulation, SimulationRequest
from mas.core.workflow.runs.views import EnrollmentDetail, EnrollmentFilter, WorkflowStats
from mas.http.params import CallerDep, PageNo, PageSize, query_moment
from mas.http.workflow import Workflow, WorkflowController

ENROLL_RULES = {
    "enroll_target": "exactly one of lead_ids (1..5000) or filter",
    "illegal_transition": "the workflow is not DRAFT or ARCHIVED, and its graph runs a node (409)",
}
SCAN_RULES = {
    "illegal_transition": "the workflow is an ACTIVE SEGMENT_SCAN workflow (409)",
}
LIST_RULES = {"bad_window": "started_from/started_to carry a UTC offset, from ≤ to"}
TEST_RULES = {"invalid_graph": "with no published version, the draft graph is valid"}
STATUS = {"illegal_transition": 409, "enroll_target": 422}


def _statuses(rules: dict[str, str]) -> dict[str, int]:
    return {code: STATUS.get(code, 422) for code in rules}


Status = Annotated[EnrollmentStatus | None, QueryParameter(description="enrollment status")]
LeadId = Annotated[uuid.UUID | None, QueryParameter(description="the lead's id")]
Moment = Annotated[
    str | None,
    QueryParameter(min_length=10, max_length=40, description="ISO 8601 with a UTC offset"),
]


class EnrollmentController(WorkflowController):
    path = "/api/admin/workflows"
    tags = ["workflows: enrollments"]
    opt = {"policy": "admin"}

    @post(
        "/{workflow_id:uuid}/enroll",
        operation_id="workflowEnroll",
        summary="Enrol leads by id (≤ 5000) or by a segment filter; counts what was skipped",
        status_code=200,
        opt={"rules": ENROLL_RULES, "rules_status": _statuses(ENROLL_RULES)},
    )
    async def enroll(
        self,
        workflow: Workflow,
        caller: CallerDep,
        workflow_id: FromPath[uuid.UUID],
        data: JSONBody[EnrollRequest],
    ) -> EnrollCounts:
        return await workflow.runs.intake.enroll(workflow_id, data, by=caller.user_id)

    @post(
        "/{workflow_id:uuid}/run-scan",
        operation_id="workflowRunScan",
        summary="Run the workflow's segment scan now",
        status_code=200,
        opt={"rules": SCAN_RULES, "rules_status": _statuses(SCAN_RULES)},
    )
    async def run_scan(self, workflow: Workflow, workflow_id: FromPath[uuid.UUID]) -> ScanReport:
        return await workflow.runs.intake.run_scan(workflow_id)

    @get(
        "/{workflow_id:uuid}/enrollments",
        operation_id="workflowListEnrollments",
        summary="The workflow's enrollments, newest first, by status, lead and start time",
        opt={"rules": LIST_RULES},
    )
    async def list_enrollments(
        self,
        workflow: Workflow,
        workflow_id: FromPath[uuid.UUID],
        status: Status = None,
        lead_id: LeadId = None,
        started_from: Moment = None,
        started_to: Moment = None,
        page: PageNo = 1,
        page_size: PageSize = 20,
    ) -> Page[Enrollment]:
        flt = EnrollmentFilter(
            status=status,
            lead_id=lead_id,
            started_from=query_moment(started_from, "started_from"),
            started_to=query_moment(started_to, "started_to"),
        )
        return await workflow.runs.history.enrollments(
            workflow_id, flt, PageRequest(page=page, page_size=page_size)
        )

    @get(
        "/enrollments/{enrollment_id:uuid}",
        operation_id="workflowGetEnrollment",
        summary="One enrollment, its node runs (inputs, outcome, error, timing) and its path",
    )
    async def get_enrollment(
        self, workflow: Workflow, enrollment_id: FromPath[uuid.UUID]
    ) -> EnrollmentDetail:
        return await workflow.runs.history.detail(enrollment_id)

    @get(
        "/{workflow_id:uuid}/stats",
        operation_id="workflowStats",
        summary="Counters: enrollments by status and exit reason, node runs, branch handles",
    )
    async def stats(self, workflow: Workflow, workflow_id: FromPath[uuid.UUID]) -> WorkflowStats:
        return await workflow.runs.history.stats(workflow_id)

    @post(
        "/{workflow_id:uuid}/test",
        operation_id="workflowTest",
        summary="Dry run on one lead: the path and the messages, nothing sent or written",
        status_code=200,
        opt={"rules": TEST_RULES},
    )
    async def test(
        self,
        workflow: Workflow,
        workflow_id: FromPath[uuid.UUID],
        data: JSONBody[SimulationRequest],
    ) -> Simulation:
        return await workflow.runs.simulator.run(workflow_id, data)
