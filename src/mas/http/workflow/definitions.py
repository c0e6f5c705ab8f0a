"""Workflow definitions over HTTP (workflow.md §7): ADMIN and SUPERADMIN only (sales heads and
salespeople get 403) on ``/api/admin/workflows``: list, create, read, save the draft
(``If-Match``: the ``updated_at`` you read), validate, enable (publish), disable, archive,
published versions, and the canvas's node palette.

An invalid graph at enable (or a draft that is not a graph at save) is 422 ``INVALID_GRAPH``
with ``issues``: every ``{node_id, code, message}``; a draft graph above 512 KB is 413.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, delete, get, post, put
from litestar.params import FromPath, HeaderParameter, JSONBody, PathParameter, QueryParameter

from mas.core.platform.errors import FieldError, ValidationFailed
from mas.core.platform.paging import Page, PageRequest
from mas.core.workflow.definitions.catalogue import NodeCatalogue, catalogue
from mas.core.workflow.definitions.errors import GRAPH_TOO_LARGE, GraphTooLarge, InvalidGraph
from mas.core.workflow.definitions.graph import GraphIssue
from mas.core.workflow.definitions.model import (
    NewWorkflow,
    ValidationReport,
    VersionInfo,
    Workflow,
    WorkflowDetail,
    WorkflowDraft,
    WorkflowSummary,
    WorkflowVersion,
)
from mas.core.workflow.model import WorkflowStatus
from mas.http.errors import PROBLEM_JSON, Problem, on_domain_error
from mas.http.params import CallerDep, PageNo, PageSize
from mas.http.workflow import Workflow as WorkflowDep
from mas.http.workflow import WorkflowController
from mas.observability import request_id

ADMIN = "admin"
IF_MATCH_INVALID = "if_match_invalid"
MISSING = {"workflow_not_found": "the workflow exists"}
MISSING_STATUS = {"workflow_not_found": 404}
TRIGGER_RULE = {"invalid_trigger_config": "trigger_config fits the trigger type"}
GRAPH_RULE = {"INVALID_GRAPH": "the graph is one (ids, edges); enable: every rule of §4"}
CREATE_RULES = {
    "workflow_name_taken": "no other workflow that is not archived has the name",
    **TRIGGER_RULE,
    **GRAPH_RULE,
    "graph_too_large": "the draft graph is at most 512 KB as JSON",
    "workflow_name_blank": "the name has a letter",
    "invalid_send_window": "send_window names an IANA time zone; its start and end differ",
}
CREATE_STATUS = {
    "workflow_name_taken": 409,
    "invalid_trigger_config": 422,
    "INVALID_GRAPH": 422,
    "graph_too_large": 413,
    "workflow_name_blank": 422,
    "invalid_send_window": 422,
}
SAVE_RULES = {
    **CREATE_RULES,
    **MISSING,
    "workflow_stale": "If-Match is the workflow's updated_at as last read",
    "workflow_archived": "the workflow is not archived",
    IF_MATCH_INVALID: "If-Match is the workflow's updated_at (RFC 3339) or its ETag",
}
SAVE_STATUS = {
    **CREATE_STATUS,
    **MISSING_STATUS,
    "workflow_stale": 409,
    "workflow_archived": 409,
    IF_MATCH_INVALID: 422,
}
RACE_RULE = {"workflow_stale": "nobody changed the workflow meanwhile"}
ENABLE_RULES = {
    **MISSING,
    **RACE_RULE,
    **GRAPH_RULE,
    "illegal_transition": "the workflow is DRAFT, ACTIVE or PAUSED",
}
RACE_STATUS = {"workflow_stale": 409}
ENABLE_STATUS = {
    **MISSING_STATUS,
    **RACE_STATUS,
    "INVALID_GRAPH": 422,
    "illegal_transition": 409,
}
DISABLE_RULES = {**MISSING, **RACE_RULE, "illegal_transition": "the workflow is ACTIVE"}
DISABLE_STATUS = {**MISSING_STATUS, **RACE_STATUS, "illegal_transition": 409}
ARCHIVE_RULES = {**MISSING, **RACE_RULE, "workflow_archived": "the workflow is not archived yet"}
ARCHIVE_STATUS = {**MISSING_STATUS, **RACE_STATUS, "workflow_archived": 409}
VERSION_RULES = {**MISSING, "workflow_version_not_found": "the version was published"}
VERSION_STATUS = {**MISSING_STATUS, "workflow_version_not_found": 404}

StatusFilter = Annotated[
    WorkflowStatus | None,
    QueryParameter(description="only this status (default: every status but ARCHIVED)"),
]
IF_MATCH_PATTERN = r'^(?:W/)?"?[0-9A-Za-z:.+-]{1,40}"?$'
IfMatch = Annotated[
    str,
    HeaderParameter(
        name="If-Match",
        max_length=48,
        pattern=IF_MATCH_PATTERN,
        description="the workflow's updated_at as you read it (RFC 3339, or the ETag)",
    ),
]
VersionNo = Annotated[int, PathParameter(ge=1, le=1_000_000, description="version number")]


class ArchiveReceipt(msgspec.Struct, frozen=True, kw_only=True):
    workflow: Workflow
    cancelled_enrollments: int


class GraphProblem(Problem, omit_defaults=True):
    """``INVALID_GRAPH``'s problem body: the usual members and every issue by node."""

    issues: list[GraphIssue] | None = None


def etag(updated_at: datetime) -> str:
    """The ETag of a workflow version: its ``updated_at`` in microseconds since the epoch."""
    delta = updated_at - datetime(1970, 1, 1, tzinfo=UTC)
    return f'"{delta // _MICROSECOND}"'


_MICROSECOND = datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)


def seen_updated_at(raw: str) -> datetime:
    """``If-Match``: the ETag (microseconds) or the ``updated_at`` as RFC 3339."""
    value = raw.strip().removeprefix("W/").strip('"')
    try:
        if value.isdigit():
            return datetime(1970, 1, 1, tzinfo=UTC) + int(value) * _MICROSECOND
        seen = msgspec.convert(value, datetime)
    except (msgspec.ValidationError, OverflowError) as error:
        raise _bad_if_match() from error
    if seen.tzinfo is None:
        raise _bad_if_match()
    return seen.astimezone(UTC)


def _bad_if_match() -> ValidationFailed:
    return ValidationFailed(
        "If-Match must carry the workflow's updated_at (or its ETag)",
        code=IF_MATCH_INVALID,
        errors=[FieldError("If-Match", "e.g. 2026-12-05T10:00:00.123456Z")],
    )


def _invalid_graph(request: Request[Any, Any, Any], exc: InvalidGraph) -> Response[GraphProblem]:
    base = on_domain_error(request, exc).content
    body = GraphProblem(**msgspec.structs.asdict(base), issues=exc.issues)
    return Response(content=body, status_code=422, media_type=PROBLEM_JSON)


def _too_large(request: Request[Any, Any, Any], exc: GraphTooLarge) -> Response[Problem]:
    body = Problem(
        type=f"https://docs.mas.local/problems/{GRAPH_TOO_LARGE}",
        title=exc.title,
        status=413,
        detail=exc.detail,
        code=exc.code,
        request_id=request_id.get(),
    )
    return Response(content=body, status_code=413, media_type=PROBLEM_JSON)


class WorkflowDefinitionController(WorkflowController):
    path = "/api/admin/workflows"
    tags = ["workflow: definitions"]
    exception_handlers = {InvalidGraph: _invalid_graph, GraphTooLarge: _too_large}

    @get(
        "",
        operation_id="listWorkflows",
        summary="Workflows, newest first, with their enrollments counted per status",
        opt={"policy": ADMIN},
    )
    async def list_workflows(
        self,
        workflow: WorkflowDep,
        status: StatusFilter = None,
        page: PageNo = 1,
        page_size: PageSize = 20,
    ) -> Page[WorkflowSummary]:
        return await workflow.definitions.workflows.page(
            status, PageRequest(page=page, page_size=page_size)
        )

    @post(
        "",
        operation_id="createWorkflow",
        summary="Create a DRAFT workflow (its draft graph: the trigger alone unless given)",
        status_code=201,
        opt={"policy": ADMIN, "rules": CREATE_RULES, "rules_status": CREATE_STATUS},
    )
    async def create(
        self, workflow: WorkflowDep, caller: CallerDep, data: JSONBody[NewWorkflow]
    ) -> Response[Workflow]:
        created = await workflow.definitions.workflows.create(caller, data)
        return Response(created, status_code=201, headers={"ETag": etag(created.updated_at)})

    @get(
        "/node-types",
        operation_id="workflowNodeTypes",
        summary="The canvas palette: each node type with the JSON Schema of its data",
        opt={"policy": ADMIN},
    )
    async def node_types(self, workflow: WorkflowDep) -> NodeCatalogue:
        del workflow
        return catalogue()

    @get(
        "/{workflow_id:uuid}",
        operation_id="getWorkflow",
        summary="A workflow: its draft, settings and the published version it runs",
        opt={"policy": ADMIN, "rules": MISSING, "rules_status": MISSING_STATUS},
    )
    async def get_workflow(
        self, workflow: WorkflowDep, workflow_id: FromPath[uuid.UUID]
    ) -> Response[WorkflowDetail]:
        detail = await workflow.definitions.workflows.get(workflow_id)
        return Response(detail, headers={"ETag": etag(detail.workflow.updated_at)})

    @put(
        "/{workflow_id:uuid}",
        operation_id="saveWorkflowDraft",
        summary="Save the draft graph and settings (If-Match: the updated_at you read)",
        opt={"policy": ADMIN, "rules": SAVE_RULES, "rules_status": SAVE_STATUS},
    )
    async def save_draft(
        self,
        workflow: WorkflowDep,
        caller: CallerDep,
        workflow_id: FromPath[uuid.UUID],
        data: JSONBody[WorkflowDraft],
        if_match: IfMatch,
    ) -> Response[Workflow]:
        saved = await workflow.definitions.workflows.save_draft(
            caller, workflow_id, data, seen_updated_at(if_match)
        )
        return Response(saved, headers={"ETag": etag(saved.updated_at)})

    @delete(
        "/{workflow_id:uuid}",
        operation_id="archiveWorkflow",
        summary="Archive a workflow; its live enrollments are cancelled",
        status_code=200,
        opt={"policy": ADMIN, "rules": ARCHIVE_RULES, "rules_status": ARCHIVE_STATUS},
    )
    async def archive(
        self, workflow: WorkflowDep, caller: CallerDep, workflow_id: FromPath[uuid.UUID]
    ) -> ArchiveReceipt:
        archived, cancelled = await workflow.definitions.workflows.archive(caller, workflow_id)
        return ArchiveReceipt(workflow=archived, cancelled_enrollments=cancelled)

    @post(
        "/{workflow_id:uuid}/validate",
        operation_id="validateWorkflow",
        summary="Check the draft as enabling would (a report; nothing changes)",
        status_code=200,
        opt={"policy": ADMIN, "rules": MISSING, "rules_status": MISSING_STATUS},
    )
    async def validate(
        self, workflow: WorkflowDep, workflow_id: FromPath[uuid.UUID]
    ) -> ValidationReport:
        return await workflow.definitions.workflows.validate(workflow_id)

    @post(
        "/{workflow_id:uuid}/enable",
        operation_id="enableWorkflow",
        summary="Publish the draft (a new version if it changed) and make the workflow ACTIVE",
        status_code=200,
        opt={"policy": ADMIN, "rules": ENABLE_RULES, "rules_status": ENABLE_STATUS},
    )
    async def enable(
        self, workflow: WorkflowDep, caller: CallerDep, workflow_id: FromPath[uuid.UUID]
    ) -> WorkflowDetail:
        return await workflow.definitions.workflows.enable(caller, workflow_id)

    @post(
        "/{workflow_id:uuid}/disable",
        operation_id="disableWorkflow",
        summary="Pause an ACTIVE workflow (due steps wait; nothing is sent)",
        status_code=200,
        opt={"policy": ADMIN, "rules": DISABLE_RULES, "rules_status": DISABLE_STATUS},
    )
    async def disable(
        self, workflow: WorkflowDep, caller: CallerDep, workflow_id: FromPath[uuid.UUID]
    ) -> Workflow:
        return await workflow.definitions.workflows.disable(caller, workflow_id)

    @get(
        "/{workflow_id:uuid}/versions",
        operation_id="listWorkflowVersions",
        summary="The workflow's published versions, newest first",
        opt={"policy": ADMIN, "rules": MISSING, "rules_status": MISSING_STATUS},
    )
    async def versions(
        self,
        workflow: WorkflowDep,
        workflow_id: FromPath[uuid.UUID],
        page: PageNo = 1,
        page_size: PageSize = 20,
    ) -> Page[VersionInfo]:
        return await workflow.definitions.workflows.versions(
            workflow_id, PageRequest(page=page, page_size=page_size)
        )

    @get(
        "/{workflow_id:uuid}/versions/{version:int}",
        operation_id="getWorkflowVersion",
        summary="One published version with its graph",
        opt={"policy": ADMIN, "rules": VERSION_RULES, "rules_status": VERSION_STATUS},
    )
    async def version(
        self, workflow: WorkflowDep, workflow_id: FromPath[uuid.UUID], version: VersionNo
    ) -> WorkflowVersion:
        return await workflow.definitions.workflows.version(workflow_id, version)
