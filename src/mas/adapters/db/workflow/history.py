"""The read side of the runs tables (repository ``workflow_history``): a workflow's enrollments
page by page, and the grouped counts its stats are built from (one query per aggregate, on the
``(workflow_id, status)`` and ``(enrollment_id, …)`` indexes; no row is read into Python)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mas.adapters.db.crm.journal import table
from mas.adapters.db.crm.tables import LeadTagRow, RawLeadRow, RawLeadTagRow
from mas.adapters.db.identity.tables import UserRow
from mas.adapters.db.workflow.runs_tables import workflow_enrollments as ENROLLMENTS
from mas.adapters.db.workflow.runs_tables import workflow_node_runs as NODE_RUNS
from mas.core.platform.paging import Page, PageRequest
from mas.core.workflow.model import EnrollmentStatus, NodeRunStatus
from mas.core.workflow.runs.model import Enrollment, LeadFacts
from mas.core.workflow.runs.simulate import SimulatedLead
from mas.core.workflow.runs.views import HANDLE_KEY, EnrollmentFilter, RunTallies

LEADS = table(RawLeadRow)
TAGS = table(LeadTagRow)
TAGGINGS = table(RawLeadTagRow)
USERS = table(UserRow)


def _enrollment(row: Mapping[str, Any]) -> Enrollment:
    return msgspec.convert({f: row[f] for f in Enrollment.__struct_fields__}, Enrollment)


class SqlWorkflowHistory:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    @property
    def _pg(self) -> bool:
        bind = self._s.bind
        return bind is not None and bind.dialect.name == "postgresql"

    async def page(
        self, workflow_id: uuid.UUID, flt: EnrollmentFilter, req: PageRequest
    ) -> Page[Enrollment]:
        where: list[ColumnElement[bool]] = [ENROLLMENTS.c.workflow_id == workflow_id]
        if flt.status is not None:
            where.append(ENROLLMENTS.c.status == flt.status.value)
        if flt.lead_id is not None:
            where.append(ENROLLMENTS.c.raw_lead_id == flt.lead_id)
        if flt.started_from is not None:
            where.append(ENROLLMENTS.c.started_at >= flt.started_from)
        if flt.started_to is not None:
            where.append(ENROLLMENTS.c.started_at < flt.started_to)
        total = (
            await self._s.execute(select(func.count()).select_from(ENROLLMENTS).where(*where))
        ).scalar_one()
        rows = await self._s.execute(
            select(ENROLLMENTS)
            .where(*where)
            .order_by(ENROLLMENTS.c.started_at.desc(), ENROLLMENTS.c.id.desc())
            .offset(req.offset)
            .limit(req.page_size)
        )
        items = [_enrollment(row) for row in rows.mappings()]
        return Page(items=items, total=total, page=req.page, page_size=req.page_size)

    def _handle(self) -> ColumnElement[Any]:
        if self._pg:
            return NODE_RUNS.c.output.op("->>")(HANDLE_KEY)
        return func.json_extract(NODE_RUNS.c.output, f"$.{HANDLE_KEY}")

    async def tallies(self, workflow_id: uuid.UUID) -> RunTallies:
        of_workflow = ENROLLMENTS.c.workflow_id == workflow_id
        by_status = {
            row[0]: row[1]
            for row in await self._s.execute(
                select(ENROLLMENTS.c.status, func.count())
                .where(of_workflow)
                .group_by(ENROLLMENTS.c.status)
            )
        }
        exits = {
            (row[0] or "unknown"): row[1]
            for row in await self._s.execute(
                select(ENROLLMENTS.c.exit_reason, func.count())
                .where(of_workflow, ENROLLMENTS.c.status == EnrollmentStatus.EXITED.value)
                .group_by(ENROLLMENTS.c.exit_reason)
            )
        }
        joined = NODE_RUNS.join(ENROLLMENTS, ENROLLMENTS.c.id == NODE_RUNS.c.enrollment_id)
        runs = [
            (row[0], row[1], row[2])
            for row in await self._s.execute(
                select(NODE_RUNS.c.node_id, NODE_RUNS.c.status, func.count())
                .select_from(joined)
                .where(of_workflow)
                .group_by(NODE_RUNS.c.node_id, NODE_RUNS.c.status)
            )
        ]
        reached = {
            row[0]: row[1]
            for row in await self._s.execute(
                select(NODE_RUNS.c.node_id, func.count(func.distinct(NODE_RUNS.c.enrollment_id)))
                .select_from(joined)
                .where(of_workflow)
                .group_by(NODE_RUNS.c.node_id)
            )
        }
        handle = self._handle()
        handles = [
            (row[0], str(row[1]), row[2])
            for row in await self._s.execute(
                select(NODE_RUNS.c.node_id, handle, func.count())
                .select_from(joined)
                .where(
                    of_workflow,
                    NODE_RUNS.c.node_type == "branch",
                    NODE_RUNS.c.status == NodeRunStatus.SUCCEEDED.value,
                    handle.is_not(None),
                )
                .group_by(NODE_RUNS.c.node_id, handle)
            )
        ]
        return RunTallies(
            by_status=by_status, exits=exits, runs=runs, reached=reached, handles=handles
        )

    async def simulated_lead(self, lead_id: uuid.UUID) -> SimulatedLead | None:
        """A live lead, its live tags and its owner (the assignee, else the pool's head)."""
        row = (
            (
                await self._s.execute(
                    select(LEADS).where(LEADS.c.id == lead_id, LEADS.c.deleted_at.is_(None))
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        tags = sorted(
            (
                await self._s.execute(
                    select(TAGS.c.name)
                    .select_from(TAGGINGS.join(TAGS, TAGS.c.id == TAGGINGS.c.tag_id))
                    .where(TAGGINGS.c.raw_lead_id == lead_id, TAGS.c.deleted_at.is_(None))
                )
            ).scalars()
        )
        owner_id = row["assigned_to"] or row["owning_sales_head_id"]
        owner = None
        if owner_id is not None:
            owner = (
                await self._s.execute(
                    select(USERS.c.full_name, USERS.c.phone).where(USERS.c.id == owner_id)
                )
            ).first()
        facts = LeadFacts(
            id=row["id"],
            name=row["name"],
            email=row["email"],
            phone_e164=row["phone_e164"],
            status=row["status"],
            source=row["source"],
            course_interest=row["course_interest"],
            assigned=row["assigned_to"] is not None,
            owner_id=owner_id,
        )
        return SimulatedLead(
            facts=facts,
            tags=tags,
            owner_name=owner[0] if owner is not None else None,
            owner_phone=owner[1] if owner is not None else None,
        )
