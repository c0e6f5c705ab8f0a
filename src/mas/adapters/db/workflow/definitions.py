"""The definitions part's repositories: workflows (the draft and its settings; a save may be a
compare-and-set on ``updated_at``, the scan clock a compare-and-set on ``last_scan_at``) and
their published versions (insert-only)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mas.adapters.db.workflow.definitions_tables import workflow_versions as VERSIONS
from mas.adapters.db.workflow.definitions_tables import workflows as WORKFLOWS
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.uow import DuplicateKey
from mas.core.workflow.definitions.model import VersionInfo, Workflow, WorkflowVersion
from mas.core.workflow.definitions.window import SendWindow
from mas.core.workflow.model import ReenrollPolicy, TriggerType, WorkflowStatus

_SCAN = TriggerType.SEGMENT_SCAN.value
_EVENT = TriggerType.LEAD_EVENT.value
_ACTIVE = WorkflowStatus.ACTIVE.value


def _workflow(row: Any) -> Workflow:
    values = dict(row._mapping)
    values.pop("next_scan_at")
    values["status"] = WorkflowStatus(values["status"])
    values["trigger_type"] = TriggerType(values["trigger_type"])
    values["reenroll_policy"] = ReenrollPolicy(values["reenroll_policy"])
    values["send_window"] = msgspec.convert(values["send_window"], SendWindow)
    return Workflow(**values)


def _interval(workflow: Workflow) -> timedelta | None:
    if workflow.trigger_type is not TriggerType.SEGMENT_SCAN:
        return None
    return timedelta(minutes=int(workflow.trigger_config.get("interval_minutes", 60)))


def _next_scan(workflow: Workflow, last_scan_at: datetime | None) -> datetime | None:
    """When the scan is next due: never scanned → None (due at once), else last + interval."""
    interval = _interval(workflow)
    if interval is None or last_scan_at is None:
        return None
    return last_scan_at + interval


def _values(workflow: Workflow) -> dict[str, Any]:
    values: dict[str, Any] = msgspec.to_builtins(workflow, builtin_types=(datetime, uuid.UUID))
    values["next_scan_at"] = _next_scan(workflow, workflow.last_scan_at)
    return values


class SqlWorkflowRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def get(self, workflow_id: uuid.UUID) -> Workflow | None:
        row = (
            await self._s.execute(select(WORKFLOWS).where(WORKFLOWS.c.id == workflow_id))
        ).first()
        return _workflow(row) if row else None

    async def get_for_update(self, workflow_id: uuid.UUID) -> Workflow | None:
        statement = select(WORKFLOWS).where(WORKFLOWS.c.id == workflow_id).with_for_update()
        row = (await self._s.execute(statement)).first()  # SQLite has one writer anyway
        return _workflow(row) if row else None

    async def add(self, workflow: Workflow) -> None:
        try:
            async with self._s.begin_nested():
                await self._s.execute(WORKFLOWS.insert().values(**_values(workflow)))
        except IntegrityError:
            raise DuplicateKey(f"a workflow named {workflow.name!r} exists") from None

    async def save(self, workflow: Workflow, *, seen_updated_at: datetime | None = None) -> bool:
        values = _values(workflow)
        del values["id"], values["created_at"], values["created_by"]
        statement = update(WORKFLOWS).where(WORKFLOWS.c.id == workflow.id).values(**values)
        if seen_updated_at is not None:
            statement = statement.where(WORKFLOWS.c.updated_at == seen_updated_at)
        try:
            async with self._s.begin_nested():
                result = await self._s.execute(statement)
        except IntegrityError:
            raise DuplicateKey(f"a workflow named {workflow.name!r} exists") from None
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def name_taken(self, name: str, *, other_than: uuid.UUID | None = None) -> bool:
        statement = select(WORKFLOWS.c.id).where(
            WORKFLOWS.c.name == name, WORKFLOWS.c.status != WorkflowStatus.ARCHIVED.value
        )
        if other_than is not None:
            statement = statement.where(WORKFLOWS.c.id != other_than)
        return (await self._s.execute(statement.limit(1))).first() is not None

    async def page(self, status: WorkflowStatus | None, req: PageRequest) -> Page[Workflow]:
        if status is None:
            where = WORKFLOWS.c.status != WorkflowStatus.ARCHIVED.value
        else:
            where = WORKFLOWS.c.status == status.value
        total = (
            await self._s.execute(select(func.count()).select_from(WORKFLOWS).where(where))
        ).scalar_one()
        rows = (
            await self._s.execute(
                select(WORKFLOWS)
                .where(where)
                .order_by(WORKFLOWS.c.created_at.desc(), WORKFLOWS.c.id.desc())
                .offset(req.offset)
                .limit(req.page_size)
            )
        ).all()
        return Page(
            items=[_workflow(r) for r in rows], total=total, page=req.page, page_size=req.page_size
        )

    async def due_scans(self, now: datetime, limit: int) -> list[Workflow]:
        rows = (
            await self._s.execute(
                select(WORKFLOWS)
                .where(
                    WORKFLOWS.c.status == _ACTIVE,
                    WORKFLOWS.c.trigger_type == _SCAN,
                    or_(WORKFLOWS.c.next_scan_at.is_(None), WORKFLOWS.c.next_scan_at <= now),
                )
                .order_by(WORKFLOWS.c.next_scan_at.asc().nulls_first(), WORKFLOWS.c.id)
                .limit(limit)
            )
        ).all()
        return [_workflow(r) for r in rows]

    async def claim_scan(
        self, workflow_id: uuid.UUID, seen_last_scan_at: datetime | None, now: datetime
    ) -> bool:
        workflow = await self.get(workflow_id)
        if workflow is None:
            return False
        seen = (
            WORKFLOWS.c.last_scan_at.is_(None)
            if seen_last_scan_at is None
            else WORKFLOWS.c.last_scan_at == seen_last_scan_at
        )
        result = await self._s.execute(
            update(WORKFLOWS)
            .where(and_(WORKFLOWS.c.id == workflow_id, seen))
            .values(last_scan_at=now, next_scan_at=_next_scan(workflow, now))
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def by_event(self, event: str) -> list[Workflow]:
        # Few workflows listen to events; the event list is JSON, read here rather than
        # queried with each database's own JSON operators.
        rows = (
            await self._s.execute(
                select(WORKFLOWS)
                .where(WORKFLOWS.c.status == _ACTIVE, WORKFLOWS.c.trigger_type == _EVENT)
                .order_by(WORKFLOWS.c.created_at, WORKFLOWS.c.id)
            )
        ).all()
        found = [_workflow(r) for r in rows]
        return [w for w in found if event in (w.trigger_config.get("events") or [])]


def _version(row: Any) -> WorkflowVersion:
    return WorkflowVersion(**dict(row._mapping))


class SqlWorkflowVersionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(self, version: WorkflowVersion) -> None:
        values = {name: getattr(version, name) for name in version.__struct_fields__}
        try:
            async with self._s.begin_nested():
                await self._s.execute(VERSIONS.insert().values(**values))
        except IntegrityError:
            raise DuplicateKey(
                f"version {version.version} of workflow {version.workflow_id} exists"
            ) from None

    async def get(self, workflow_id: uuid.UUID, version: int) -> WorkflowVersion | None:
        row = (
            await self._s.execute(
                select(VERSIONS).where(
                    VERSIONS.c.workflow_id == workflow_id, VERSIONS.c.version == version
                )
            )
        ).first()
        return _version(row) if row else None

    async def list(self, workflow_id: uuid.UUID) -> list[VersionInfo]:
        rows = (
            await self._s.execute(
                select(
                    VERSIONS.c.version,
                    VERSIONS.c.published_by,
                    VERSIONS.c.published_at,
                    VERSIONS.c.checksum,
                )
                .where(VERSIONS.c.workflow_id == workflow_id)
                .order_by(VERSIONS.c.version.desc())
            )
        ).all()
        return [VersionInfo(**dict(r._mapping)) for r in rows]
