"""A small world for the workflow engine's tests: leads, a published workflow, enrollments,
written straight into the tables (the definitions and enrollment parts have their own tests),
and the counts the tests assert on."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, text, update

from mas.adapters.db.comms.mail_tables import EmailTemplateRow
from mas.adapters.db.comms.whatsapp_tables import WhatsAppMessageRow, WhatsAppTemplateRow
from mas.adapters.db.crm.journal import table
from mas.adapters.db.crm.tables import LeadActivityRow, LeadTagRow, RawLeadRow, RawLeadTagRow
from mas.adapters.db.platform.tables import OutboxMessageRow
from mas.adapters.db.workflow.definitions_tables import workflow_versions, workflows
from mas.adapters.db.workflow.runs_tables import workflow_enrollments, workflow_node_runs
from mas.core.platform.ids import uuid7
from mas.core.workflow.definitions.graph import checksum, parse_graph
from mas.core.workflow.runs.model import Enrollment, NodeRun

LEADS = table(RawLeadRow)
ACTIVITIES = table(LeadActivityRow)
OUTBOX = table(OutboxMessageRow)
WA_MESSAGES = table(WhatsAppMessageRow)
WA_TEMPLATES = table(WhatsAppTemplateRow)
MAIL_TEMPLATES = table(EmailTemplateRow)
TAGS = table(LeadTagRow)
TAGGINGS = table(RawLeadTagRow)
EXIT_ON = ["CONVERTED", "NOT_INTERESTED", "INVALID", "CLOSED"]


def graph_of(
    nodes: list[tuple[str, str, dict[str, Any]]], edges: list[tuple[str, str, str | None]]
) -> dict[str, Any]:
    raw = {
        "nodes": [{"id": i, "type": t, "data": d} for i, t, d in nodes],
        "edges": [
            {"id": f"e{n}", "source": s, "target": t, "sourceHandle": h}
            for n, (s, t, h) in enumerate(edges)
        ],
    }
    graph, issues = parse_graph(raw)
    assert graph is not None, issues
    return graph.to_stored()


def line(*types: tuple[str, str, dict[str, Any]]) -> dict[str, Any]:
    """trigger → the nodes in order."""
    nodes = [("t", "trigger", {}), *types]
    edges = [(a[0], b[0], None) for a, b in zip(nodes, nodes[1:], strict=False)]
    return graph_of(nodes, edges)


class World:
    def __init__(self, c: Any) -> None:
        self.c = c

    @property
    def engine(self) -> Any:
        return self.c.workflow.runs.engine

    def now(self) -> datetime:
        now: datetime = self.c.clock.now()
        return now

    async def execute(self, *statements: Any) -> None:
        async with self.c.uow() as uow:
            for statement in statements:
                await uow.session.execute(statement)
            await uow.commit()

    async def scalar(self, statement: Any) -> Any:
        async with self.c.uow() as uow:
            return await uow.session.scalar(statement)

    async def lead(
        self,
        *,
        email: str | None = "lead@example.com",
        phone: str | None = "+919900000001",
        status: str = "NEW",
        name: str = "Asha Rao",
    ) -> uuid.UUID:
        lead_id = uuid7()
        now = self.now()
        await self.execute(
            insert(LEADS).values(
                id=lead_id,
                name=name,
                email=email,
                phone_e164=phone,
                source="MANUAL",
                status=status,
                extra_data={},
                reinquiry_count=0,
                version=0,
                created_at=now,
                updated_at=now,
            )
        )
        return lead_id

    async def mail_template(self, key: str = "nurture.hello", *, active: bool = True) -> None:
        now = self.now()
        await self.execute(
            insert(MAIL_TEMPLATES).values(
                id=uuid7(),
                key=key,
                name=key,
                subject="Hello",
                body_html="<p>Hello there</p>",
                body_text="Hello there",
                variables=[],
                category="CRM",
                owner_scope="GLOBAL",
                is_active=active,
                created_at=now,
                updated_at=now,
            )
        )

    async def wa_template(self, name: str = "welcome", params: int = 1) -> None:
        now = self.now()
        await self.execute(
            insert(WA_TEMPLATES).values(
                id=uuid7(),
                provider="META",
                name=name,
                language="en",
                category="UTILITY",
                body="Hi {{1}}",
                buttons=[],
                param_count=params,
                provider_status="APPROVED",
                created_at=now,
                updated_at=now,
            )
        )

    async def tag(self, name: str) -> None:
        now = self.now()
        await self.execute(
            insert(TAGS).values(id=uuid7(), name=name, created_at=now, updated_at=now)
        )

    async def workflow(
        self, graph: dict[str, Any], *, status: str = "ACTIVE", window: dict[str, Any] | None = None
    ) -> uuid.UUID:
        workflow_id = uuid7()
        now = self.now()
        await self.execute(
            insert(workflows).values(
                id=workflow_id,
                name=f"wf-{workflow_id}",
                status=status,
                trigger_type="MANUAL",
                trigger_config={},
                draft_graph=graph,
                published_version=1,
                reenroll_policy="NEVER",
                exit_on_statuses=EXIT_ON,
                send_window=window or {"start": "00:00", "end": "23:59", "tz": "Asia/Kolkata"},
                created_at=now,
                updated_at=now,
            ),
            insert(workflow_versions).values(
                workflow_id=workflow_id,
                version=1,
                graph=graph,
                published_at=now,
                checksum=checksum(graph),
            ),
        )
        return workflow_id

    async def enroll(self, workflow_id: uuid.UUID, lead_id: uuid.UUID, first: str) -> uuid.UUID:
        enrollment_id = uuid7()
        now = self.now()
        await self.execute(
            insert(workflow_enrollments).values(
                id=enrollment_id,
                workflow_id=workflow_id,
                version=1,
                raw_lead_id=lead_id,
                status="ACTIVE",
                current_node_id=first,
                attempt=1,
                next_run_at=now,
                enrolled_via="MANUAL",
                context={},
                started_at=now,
                updated_at=now,
                lock_version=0,
            )
        )
        return enrollment_id

    async def start(
        self, graph: dict[str, Any], first: str, **lead: Any
    ) -> tuple[uuid.UUID, uuid.UUID]:
        """A lead enrolled in a new workflow of ``graph``; (enrollment id, lead id)."""
        lead_id = await self.lead(**lead)
        workflow_id = await self.workflow(graph)
        return await self.enroll(workflow_id, lead_id, first), lead_id

    async def release(self) -> int:
        released: int = await self.engine.release_due()
        return released

    async def enrollment(self, enrollment_id: uuid.UUID) -> Enrollment:
        found: Enrollment = await self.engine.get(enrollment_id)
        return found

    async def runs(self, enrollment_id: uuid.UUID) -> list[NodeRun]:
        async with self.c.uow() as uow:
            runs: list[NodeRun] = await uow.workflow_enrollments.node_runs(enrollment_id)
            return runs

    async def emails(self, enrollment_id: uuid.UUID) -> list[str]:
        async with self.c.uow() as uow:
            rows = await uow.session.scalars(
                select(OUTBOX.c.idempotency_key).where(
                    OUTBOX.c.idempotency_key.like(f"wf:{enrollment_id}:%")
                )
            )
            return sorted(rows)

    async def whatsapps(self, enrollment_id: uuid.UUID) -> list[str]:
        async with self.c.uow() as uow:
            rows = await uow.session.scalars(
                select(WA_MESSAGES.c.idempotency_key).where(
                    WA_MESSAGES.c.idempotency_key.like(f"wf:{enrollment_id}:%")
                )
            )
            return sorted(rows)

    async def journal(self, lead_id: uuid.UUID) -> int:
        count: int = await self.scalar(
            select(func.count())
            .select_from(ACTIVITIES)
            .where(ACTIVITIES.c.raw_lead_id == lead_id, ACTIVITIES.c.type == "WORKFLOW_STEP")
        )
        return count

    async def lead_tags(self, lead_id: uuid.UUID) -> list[str]:
        async with self.c.uow() as uow:
            return sorted(await uow.workflow_leads.tags(lead_id))

    async def lead_status(self, lead_id: uuid.UUID) -> str:
        status: str = await self.scalar(select(LEADS.c.status).where(LEADS.c.id == lead_id))
        return status

    async def set_lead(self, lead_id: uuid.UUID, **values: Any) -> None:
        await self.execute(update(LEADS).where(LEADS.c.id == lead_id).values(**values))

    async def set_workflow(self, workflow_id: uuid.UUID, **values: Any) -> None:
        await self.execute(update(workflows).where(workflows.c.id == workflow_id).values(**values))

    async def node_run_count(self) -> int:
        count: int = await self.scalar(select(func.count()).select_from(workflow_node_runs))
        return count

    async def sql(self, statement: str) -> Any:
        return await self.scalar(text(statement))
