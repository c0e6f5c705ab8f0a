"""Workflows, leads and enrollments for the workflow intake and views tests, on a container
whose clock stands still (``FakeClock``)."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from sqlalchemy import insert, select, update

from mas.adapters.db.crm.tables import LeadTagRow, RawLeadRow, RawLeadTagRow
from mas.adapters.db.workflow.runs_tables import workflow_enrollments as ENROLLMENTS
from mas.core.identity.policy import Caller, Platform, Role
from mas.core.platform.ids import uuid7
from mas.core.workflow.definitions.canvas import Canvas
from mas.core.workflow.definitions.model import (
    NewWorkflow,
    SegmentFilter,
    TriggerSettings,
    Workflow,
    WorkflowDraft,
)
from mas.core.workflow.model import ReenrollPolicy, TriggerType
from mas.core.workflow.runs.intake import Intake

ADMIN = Caller(user_id=uuid7(), role=Role.ADMIN, platform=Platform.MY_ANALYTICS_SCHOOL)


def canvas(*steps: dict[str, Any]) -> Canvas:
    """trigger → each step in turn."""
    nodes = [{"id": "t", "type": "trigger", "data": {}}, *steps]
    edges = [
        {"id": f"e{at}", "source": nodes[at]["id"], "target": nodes[at + 1]["id"]}
        for at in range(len(nodes) - 1)
    ]
    return msgspec.convert({"nodes": nodes, "edges": edges}, Canvas)


WAIT_2_DAYS = {"id": "w", "type": "wait", "data": {"amount": 2, "unit": "days"}}
TAG = {"id": "u", "type": "update_lead", "data": {"add_tags": ["nurtured"]}}
NURTURE = canvas(WAIT_2_DAYS, TAG)


async def make_workflow(
    c: Any,
    trigger: TriggerType = TriggerType.SEGMENT_SCAN,
    *,
    flt: SegmentFilter | None = None,
    max_per_scan: int | None = None,
    events: list[str] | None = None,
    policy: ReenrollPolicy = ReenrollPolicy.NEVER,
    graph: Canvas = NURTURE,
    enable: bool = True,
) -> Workflow:
    settings: TriggerSettings | None = None
    if trigger is TriggerType.SEGMENT_SCAN:
        settings = TriggerSettings(filter=flt or SegmentFilter(), max_per_scan=max_per_scan)
    elif trigger is TriggerType.LEAD_EVENT:
        settings = msgspec.convert(
            {"filter": msgspec.to_builtins(flt or SegmentFilter()), "events": events or []},
            TriggerSettings,
        )
    workflow = await c.workflow.definitions.workflows.create(
        ADMIN,
        NewWorkflow(
            name=f"wf {uuid.uuid4().hex[:8]}",
            trigger_type=trigger,
            trigger_config=settings,
            draft_graph=graph,
            reenroll_policy=policy,
        ),
    )
    if enable:
        workflow = (await c.workflow.definitions.workflows.enable(ADMIN, workflow.id)).workflow
    return workflow


async def publish(c: Any, workflow: Workflow, graph: Canvas) -> Workflow:
    """Save ``graph`` as the draft and enable: a new version."""
    await c.workflow.definitions.workflows.save_draft(
        ADMIN, workflow.id, WorkflowDraft(draft_graph=graph), workflow.updated_at
    )
    detail = await c.workflow.definitions.workflows.enable(ADMIN, workflow.id)
    return detail.workflow  # type: ignore[no-any-return]


def quiet_intake(c: Any) -> Intake:
    """Intake without the engine's release: enrollments stay as inserted."""
    return Intake(uow=c.uow, clock=c.clock)


async def add_leads(
    c: Any, count: int, *, status: str = "NEW", source: str = "MANUAL", **values: Any
) -> list[uuid.UUID]:
    now = c.clock.now()
    ids = [uuid7() for _ in range(count)]
    async with c.uow() as uow:
        await uow.session.execute(
            insert(RawLeadRow),
            [
                {
                    "id": lead_id,
                    "name": f"Lead {lead_id.hex[-6:]}",
                    "phone_e164": f"+9197{lead_id.int % 10**8:08d}",
                    "source": source,
                    "status": status,
                    "created_at": now,
                    "updated_at": now,
                    **values,
                }
                for lead_id in ids
            ],
        )
        await uow.commit()
    return ids


async def tag(c: Any, name: str, lead_ids: list[uuid.UUID]) -> None:
    async with c.uow() as uow:
        tag_id = uuid7()
        await uow.session.execute(insert(LeadTagRow).values(id=tag_id, name=name))
        await uow.session.execute(
            insert(RawLeadTagRow),
            [{"id": uuid7(), "raw_lead_id": lead_id, "tag_id": tag_id} for lead_id in lead_ids],
        )
        await uow.commit()


async def set_lead(c: Any, lead_id: uuid.UUID, **values: Any) -> None:
    async with c.uow() as uow:
        await uow.session.execute(
            update(RawLeadRow).where(RawLeadRow.id == lead_id).values(**values)
        )
        await uow.commit()


async def enrollments(c: Any, workflow_id: uuid.UUID) -> list[Any]:
    async with c.uow() as uow:
        rows = await uow.session.execute(
            select(ENROLLMENTS).where(ENROLLMENTS.c.workflow_id == workflow_id)
        )
        return list(rows.mappings())


async def end_enrollments(c: Any, workflow_id: uuid.UUID, status: str = "COMPLETED") -> None:
    async with c.uow() as uow:
        await uow.session.execute(
            update(ENROLLMENTS)
            .where(ENROLLMENTS.c.workflow_id == workflow_id)
            .values(status=status, finished_at=c.clock.now())
        )
        await uow.commit()
