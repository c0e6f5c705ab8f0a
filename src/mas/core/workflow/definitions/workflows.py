"""The workflow book (workflow.md §5, §7): create, edit the draft, validate, enable (publish),
disable, archive; read workflows and their published versions.

A draft save names the ``updated_at`` it read (``If-Match``): a save over someone else's is
refused (409), never merged. ``updated_at`` only grows, even on a clock that stands still, so
two saves never look alike. Enabling checks the draft (structure and templates) and publishes
it as version n+1 only when its normalised form differs from the last version's (checksum);
enabling a PAUSED workflow resumes its enrollments. Archiving cancels the live enrollments in
the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import msgspec

from mas.core.identity.policy import Caller
from mas.core.platform.errors import Conflict, FieldError, NotFound, ValidationFailed
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import MAX_PAGE_SIZE, Page, PageRequest, page_of
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import DuplicateKey, UnitOfWorkFactory
from mas.core.workflow.definitions.canvas import MAX_GRAPH_BYTES, Canvas, encoded_size
from mas.core.workflow.definitions.errors import GraphTooLarge, InvalidGraph
from mas.core.workflow.definitions.graph import SHAPE_CODES, checksum, parse_graph, parsed_nodes
from mas.core.workflow.definitions.model import (
    DEFAULT_EXIT_STATUSES,
    NewWorkflow,
    TriggerSettings,
    ValidationReport,
    VersionInfo,
    Workflow,
    WorkflowDetail,
    WorkflowDraft,
    WorkflowSummary,
    WorkflowVersion,
    check_move,
    trigger_config,
)
from mas.core.workflow.definitions.ports import (
    DefinitionsUnitOfWork,
    TemplateCatalog,
)
from mas.core.workflow.definitions.publishing import full_report, template_issues
from mas.core.workflow.definitions.window import SendWindow
from mas.core.workflow.model import EnrollmentStatus, TriggerType, WorkflowStatus

NAME_TAKEN = "workflow_name_taken"
NAME_BLANK = "workflow_name_blank"
NOT_FOUND = "workflow_not_found"
VERSION_NOT_FOUND = "workflow_version_not_found"
STALE = "workflow_stale"
ARCHIVED = "workflow_archived"
INVALID_TRIGGER = "invalid_trigger_config"
INVALID_WINDOW = "invalid_send_window"
ARCHIVE_REASON = "workflow_archived"

ALL_VERSIONS = PageRequest(page=1, page_size=MAX_PAGE_SIZE)

STARTER_GRAPH: dict[str, Any] = {
    "nodes": [{"id": "trigger", "type": "trigger", "position": {"x": 0.0, "y": 0.0}, "data": {}}],
    "edges": [],
}
"""A new workflow's draft when none is given: the trigger alone."""


def _not_found() -> NotFound:
    return NotFound("there is no such workflow", code=NOT_FOUND)


def _changed() -> Conflict:
    return Conflict("the workflow changed meanwhile; reload it and try again", code=STALE)


def _name_taken(name: str) -> Conflict:
    return Conflict(f"a workflow named {name!r} exists; pick another name", code=NAME_TAKEN)


def _name(raw: str) -> str:
    name = " ".join(raw.split())
    if not name:
        raise ValidationFailed(
            "a workflow needs a name",
            code=NAME_BLANK,
            errors=[FieldError("name", "at least one letter")],
        )
    return name


def _config(trigger_type: TriggerType, raw: TriggerSettings | Mapping[str, Any] | None) -> Any:
    try:
        config = trigger_config(trigger_type, raw)
    except msgspec.ValidationError as error:
        raise ValidationFailed(
            f"trigger_config does not fit a {trigger_type.value} trigger: {error}",
            code=INVALID_TRIGGER,
            errors=[FieldError("trigger_config", str(error))],
        ) from error
    return msgspec.to_builtins(config)


def _window(window: SendWindow | None) -> SendWindow:
    window = window or SendWindow()
    problem = window.problem()
    if problem is not None:
        raise ValidationFailed(
            f"send_window: {problem}",
            code=INVALID_WINDOW,
            errors=[FieldError("send_window", problem)],
        )
    return window


def _draft(canvas: Canvas | None) -> dict[str, Any]:
    """The draft graph to keep: not above the size limit, and a graph in shape (ids,
    edges); what a draft in progress may lack is left to validation."""
    if canvas is None:
        return STARTER_GRAPH
    raw = canvas.as_json()
    size = encoded_size(raw)
    if size > MAX_GRAPH_BYTES:
        raise GraphTooLarge(size)
    _, issues = parse_graph(raw)
    shape = [issue for issue in issues if issue.code in SHAPE_CODES]
    if shape:
        raise InvalidGraph(shape, "the draft is not a graph: fix its ids and edges")
    return raw


def _info(version: WorkflowVersion) -> VersionInfo:
    return VersionInfo(
        version=version.version,
        published_by=version.published_by,
        published_at=version.published_at,
        checksum=version.checksum,
    )


class Workflows:
    def __init__(
        self,
        uow: UnitOfWorkFactory[DefinitionsUnitOfWork],
        clock: Clock,
        templates: TemplateCatalog,
    ) -> None:
        self._uow: Callable[[], DefinitionsUnitOfWork] = uow
        self._clock = clock
        self._templates = templates

    def _stamp(self, workflow: Workflow) -> datetime:
        """Now, or just after the last change when the clock has not moved past it."""
        return max(self._clock.now(), workflow.updated_at + timedelta(microseconds=1))

    async def create(self, caller: Caller, data: NewWorkflow) -> Workflow:
        name = _name(data.name)
        now = self._clock.now()
        workflow = Workflow(
            id=uuid7(),
            name=name,
            description=data.description,
            status=WorkflowStatus.DRAFT,
            trigger_type=data.trigger_type,
            trigger_config=_config(data.trigger_type, data.trigger_config),
            draft_graph=_draft(data.draft_graph),
            published_version=None,
            reenroll_policy=data.reenroll_policy,
            exit_on_statuses=list(
                DEFAULT_EXIT_STATUSES if data.exit_on_statuses is None else data.exit_on_statuses
            ),
            send_window=_window(data.send_window),
            last_scan_at=None,
            created_by=caller.user_id,
            updated_by=caller.user_id,
            created_at=now,
            updated_at=now,
        )
        async with self._uow() as uow:
            if await uow.workflows.name_taken(name):
                raise _name_taken(name)
            try:
                await uow.workflows.add(workflow)
            except DuplicateKey as taken:
                raise _name_taken(name) from taken
            await uow.commit()
        return workflow

    async def _get(self, uow: DefinitionsUnitOfWork, workflow_id: uuid.UUID) -> Workflow:
        workflow = await uow.workflows.get(workflow_id)
        if workflow is None:
            raise _not_found()
        return workflow

    async def _locked(self, uow: DefinitionsUnitOfWork, workflow_id: uuid.UUID) -> Workflow:
        workflow = await uow.workflows.get_for_update(workflow_id)
        if workflow is None:
            raise _not_found()
        return workflow

    async def _save(
        self, uow: DefinitionsUnitOfWork, workflow: Workflow, current: Workflow
    ) -> None:
        """Write a move as a compare-and-set on the ``updated_at`` read (the row lock makes it
        certain on PostgreSQL; on SQLite it is what keeps two racing moves apart)."""
        if not await uow.workflows.save(workflow, seen_updated_at=current.updated_at):
            raise _changed()

    async def get(self, workflow_id: uuid.UUID) -> WorkflowDetail:
        async with self._uow() as uow:
            workflow = await self._get(uow, workflow_id)
            published = None
            if workflow.published_version is not None:
                published = await uow.workflow_versions.get(workflow_id, workflow.published_version)
        graph, _ = parse_graph(workflow.draft_graph)
        differs = (
            published is None or graph is None or checksum(graph.to_stored()) != published.checksum
        )
        return WorkflowDetail(
            workflow=workflow,
            published=_info(published) if published is not None else None,
            draft_differs=differs,
        )

    async def page(self, status: WorkflowStatus | None, req: PageRequest) -> Page[WorkflowSummary]:
        async with self._uow() as uow:
            found = await uow.workflows.page(status, req)
            counts = await uow.workflow_enrollments.status_counts([w.id for w in found.items])
        items = [
            WorkflowSummary(
                id=w.id,
                name=w.name,
                description=w.description,
                status=w.status,
                trigger_type=w.trigger_type,
                published_version=w.published_version,
                created_at=w.created_at,
                updated_at=w.updated_at,
                archived_at=w.archived_at,
                enrollments={s: counts.get(w.id, {}).get(s.value, 0) for s in EnrollmentStatus},
            )
            for w in found.items
        ]
        return Page(items=items, total=found.total, page=found.page, page_size=found.page_size)

    async def save_draft(
        self,
        caller: Caller,
        workflow_id: uuid.UUID,
        data: WorkflowDraft,
        seen_updated_at: datetime,
    ) -> Workflow:
        """Apply the members sent to the draft and settings (If-Match: ``seen_updated_at``)."""
        draft = None if data.draft_graph is msgspec.UNSET else _draft(data.draft_graph)
        async with self._uow() as uow:
            current = await self._locked(uow, workflow_id)
            if current.status is WorkflowStatus.ARCHIVED:
                raise Conflict("an archived workflow is not edited", code=ARCHIVED)
            if current.updated_at != seen_updated_at:
                raise Conflict(
                    "the workflow changed since you read it; reload it and edit again",
                    code=STALE,
                )
            changes: dict[str, Any] = {}
            if data.name is not msgspec.UNSET:
                changes["name"] = _name(data.name)
                if await uow.workflows.name_taken(changes["name"], other_than=workflow_id):
                    raise _name_taken(changes["name"])
            if data.description is not msgspec.UNSET:
                changes["description"] = data.description
            trigger_type = current.trigger_type
            if data.trigger_type is not msgspec.UNSET:
                trigger_type = changes["trigger_type"] = data.trigger_type
            if data.trigger_config is not msgspec.UNSET:
                changes["trigger_config"] = _config(trigger_type, data.trigger_config)
            elif trigger_type is not current.trigger_type:
                changes["trigger_config"] = _config(trigger_type, None)
            if draft is not None:
                changes["draft_graph"] = draft
            if data.reenroll_policy is not msgspec.UNSET:
                changes["reenroll_policy"] = data.reenroll_policy
            if data.exit_on_statuses is not msgspec.UNSET:
                changes["exit_on_statuses"] = list(data.exit_on_statuses)
            if data.send_window is not msgspec.UNSET:
                changes["send_window"] = _window(data.send_window)
            saved = msgspec.structs.replace(
                current, **changes, updated_by=caller.user_id, updated_at=self._stamp(current)
            )
            try:
                written = await uow.workflows.save(saved, seen_updated_at=seen_updated_at)
            except DuplicateKey as taken:
                raise _name_taken(saved.name) from taken
            if not written:
                raise Conflict("the workflow changed since you read it", code=STALE)
            await uow.commit()
        return saved

    async def validate(self, workflow_id: uuid.UUID) -> ValidationReport:
        async with self._uow() as uow:
            workflow = await self._get(uow, workflow_id)
        return await full_report(workflow.draft_graph, self._templates)

    async def enable(self, caller: Caller, workflow_id: uuid.UUID) -> WorkflowDetail:
        """Validate and publish the draft (a new version only when it changed), then ACTIVE."""
        async with self._uow() as uow:
            current = await self._locked(uow, workflow_id)
            check_move(current.status, WorkflowStatus.ACTIVE)
            graph, issues = parse_graph(current.draft_graph)
            issues += await template_issues(parsed_nodes(current.draft_graph), self._templates)
            if graph is None or issues:
                raise InvalidGraph(issues)
            now = self._clock.now()
            stored = graph.to_stored()
            digest = checksum(stored)
            latest = None
            if current.published_version is not None:
                latest = await uow.workflow_versions.get(workflow_id, current.published_version)
            if latest is None or latest.checksum != digest:
                latest = WorkflowVersion(
                    workflow_id=workflow_id,
                    version=(current.published_version or 0) + 1,
                    graph=stored,
                    published_by=caller.user_id,
                    published_at=now,
                    checksum=digest,
                )
                try:
                    await uow.workflow_versions.add(latest)
                except DuplicateKey as raced:
                    raise _changed() from raced
            if current.status is WorkflowStatus.PAUSED:
                await uow.workflow_enrollments.resume_paused(workflow_id, at=now)
            enabled = msgspec.structs.replace(
                current,
                status=WorkflowStatus.ACTIVE,
                published_version=latest.version,
                updated_by=caller.user_id,
                updated_at=self._stamp(current),
            )
            await self._save(uow, enabled, current)
            await uow.commit()
        return WorkflowDetail(workflow=enabled, published=_info(latest), draft_differs=False)

    async def disable(self, caller: Caller, workflow_id: uuid.UUID) -> Workflow:
        """ACTIVE → PAUSED: due steps are deferred and nothing is sent until enabled again."""
        async with self._uow() as uow:
            current = await self._locked(uow, workflow_id)
            check_move(current.status, WorkflowStatus.PAUSED)
            paused = msgspec.structs.replace(
                current,
                status=WorkflowStatus.PAUSED,
                updated_by=caller.user_id,
                updated_at=self._stamp(current),
            )
            await self._save(uow, paused, current)
            await uow.commit()
        return paused

    async def archive(self, caller: Caller, workflow_id: uuid.UUID) -> tuple[Workflow, int]:
        """→ ARCHIVED, its live enrollments CANCELLED in the same transaction; (workflow, how
        many enrollments were cancelled)."""
        async with self._uow() as uow:
            current = await self._locked(uow, workflow_id)
            if current.status is WorkflowStatus.ARCHIVED:
                raise Conflict("the workflow is already archived", code=ARCHIVED)
            check_move(current.status, WorkflowStatus.ARCHIVED)
            now = self._clock.now()
            cancelled = await uow.workflow_enrollments.cancel_live(
                workflow_id, reason=ARCHIVE_REASON, at=now
            )
            archived = msgspec.structs.replace(
                current,
                status=WorkflowStatus.ARCHIVED,
                archived_at=now,
                updated_by=caller.user_id,
                updated_at=self._stamp(current),
            )
            await self._save(uow, archived, current)
            await uow.commit()
        return archived, cancelled

    async def versions(
        self, workflow_id: uuid.UUID, req: PageRequest = ALL_VERSIONS
    ) -> Page[VersionInfo]:
        """The published versions, newest first (a workflow has few: a page of the list)."""
        async with self._uow() as uow:
            await self._get(uow, workflow_id)
            return page_of(await uow.workflow_versions.list(workflow_id), req)

    async def version(self, workflow_id: uuid.UUID, version: int) -> WorkflowVersion:
        async with self._uow() as uow:
            found = await uow.workflow_versions.get(workflow_id, version)
            if found is None:
                await self._get(uow, workflow_id)
                raise NotFound("the workflow has no such version", code=VERSION_NOT_FOUND)
            return found
