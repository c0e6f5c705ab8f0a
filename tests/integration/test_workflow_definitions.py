"""The definitions part's repositories and template catalogue on SQLite and PostgreSQL:
workflows (unique name among the non-archived, the If-Match CAS, scans due and claimed,
event listeners), versions, and archive cancelling real enrollments in its transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from sqlalchemy import insert, select

from mas.adapters.db.comms.mail_tables import EmailTemplateRow
from mas.adapters.db.comms.whatsapp_tables import WhatsAppTemplateRow
from mas.adapters.db.crm.tables import RawLeadRow
from mas.adapters.db.workflow.runs_tables import workflow_enrollments as ENROLLMENTS
from mas.core.identity.policy import Caller, Platform, Role
from mas.core.platform.errors import Conflict
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import PageRequest
from mas.core.platform.ports.uow import DuplicateKey
from mas.core.workflow.definitions.canvas import Canvas
from mas.core.workflow.definitions.errors import InvalidGraph
from mas.core.workflow.definitions.model import NewWorkflow, WorkflowDraft, WorkflowVersion
from mas.core.workflow.model import TriggerType, WorkflowStatus

ADMIN = Caller(user_id=uuid7(), role=Role.ADMIN, platform=Platform.MY_ANALYTICS_SCHOOL)


def new(
    name: str,
    trigger: str = "MANUAL",
    config: dict[str, Any] | None = None,
    graph: dict[str, Any] | None = None,
) -> NewWorkflow:
    raw: dict[str, Any] = {"name": name, "trigger_type": trigger}
    if config is not None:
        raw["trigger_config"] = config
    if graph is not None:
        raw["draft_graph"] = graph
    return msgspec.convert(raw, NewWorkflow)


def sends(email_key: str, template: str) -> dict[str, Any]:
    return {
        "nodes": [
            {"id": "t", "type": "trigger"},
            {"id": "m", "type": "send_email", "data": {"template_key": email_key}},
            {
                "id": "wa",
                "type": "send_whatsapp",
                "data": {"template_name": template, "language": "en_US"},
            },
        ],
        "edges": [
            {"id": "1", "source": "t", "target": "m"},
            {"id": "2", "source": "m", "target": "wa"},
        ],
    }


async def test_names_are_unique_among_workflows_not_archived(container: Any) -> None:
    book = container.workflow.definitions.workflows
    first = await book.create(ADMIN, new("Nurture"))
    with pytest.raises(Conflict):
        await book.create(ADMIN, new("Nurture"))
    async with container.uow() as uow:  # the index itself, past the service's check
        clone = msgspec.structs.replace(first, id=uuid7())
        with pytest.raises(DuplicateKey):
            await uow.workflows.add(clone)
    await book.archive(ADMIN, first.id)
    second = await book.create(ADMIN, new("Nurture"))
    assert second.id != first.id
    async with container.uow() as uow:
        assert await uow.workflows.name_taken("Nurture")
        assert not await uow.workflows.name_taken("Nurture", other_than=second.id)


async def test_a_workflow_round_trips_and_saves_by_updated_at(container: Any) -> None:
    book = container.workflow.definitions.workflows
    created = await book.create(
        ADMIN,
        new("Scan", "SEGMENT_SCAN", {"interval_minutes": 15, "filter": {"tags_any": ["hot"]}}),
    )
    detail = await book.get(created.id)
    assert detail.workflow == created
    assert detail.published is None and detail.draft_differs
    saved = await book.save_draft(
        ADMIN, created.id, WorkflowDraft(description="hot leads"), created.updated_at
    )
    assert (await book.get(created.id)).workflow == saved
    with pytest.raises(Conflict) as stale:
        await book.save_draft(ADMIN, created.id, WorkflowDraft(description="x"), created.updated_at)
    assert stale.value.code == "workflow_stale"
    async with container.uow() as uow:
        assert not await uow.workflows.save(saved, seen_updated_at=created.updated_at)
        locked = await uow.workflows.get_for_update(created.id)
        assert locked == saved


async def test_enable_checks_templates_in_the_comms_tables(container: Any) -> None:
    book = container.workflow.definitions.workflows
    code_template = next(iter(container.mail_templates))
    created = await book.create(ADMIN, new("Sends", graph=sends("promo-welcome", "nudge")))
    with pytest.raises(InvalidGraph) as refused:
        await book.enable(ADMIN, created.id)
    assert {(i.node_id, i.code) for i in refused.value.issues} == {
        ("m", "EMAIL_TEMPLATE_MISSING"),
        ("wa", "WHATSAPP_TEMPLATE_NOT_APPROVED"),
    }
    now = container.clock.now()
    async with container.uow() as uow:
        await uow.session.execute(
            insert(EmailTemplateRow).values(
                id=uuid7(),
                key="promo-welcome",
                name="Welcome",
                subject="Hi",
                body_html="<p>Hi</p>",
                variables=[],
                category="MARKETING",
                owner_scope="GLOBAL",
                is_active=True,
                created_at=now,
                updated_at=now,
            )
        )
        await uow.session.execute(
            insert(WhatsAppTemplateRow).values(
                id=uuid7(),
                provider="META",
                name="nudge",
                language="en_US",
                body="Hi {{1}}",
                buttons=[],
                param_count=1,
                provider_status="PENDING",
                created_at=now,
                updated_at=now,
            )
        )
        await uow.commit()
    report = await book.validate(created.id)
    assert [(i.node_id, i.code) for i in report.issues] == [
        ("wa", "WHATSAPP_TEMPLATE_NOT_APPROVED")
    ]
    async with container.uow() as uow:
        table = WhatsAppTemplateRow.__table__
        await uow.session.execute(table.update().values(provider_status="APPROVED"))
        await uow.commit()
    enabled = await book.enable(ADMIN, created.id)
    assert enabled.workflow.status is WorkflowStatus.ACTIVE
    coded = await book.create(ADMIN, new("Coded", graph=sends(code_template, "nudge")))
    assert (await book.validate(coded.id)).valid


async def test_versions_are_kept_and_listed_newest_first(container: Any) -> None:
    book = container.workflow.definitions.workflows
    created = await book.create(ADMIN, new("Versions"))
    await book.enable(ADMIN, created.id)
    current = (await book.get(created.id)).workflow
    graph = msgspec.convert(
        {
            "nodes": [{"id": "t", "type": "trigger"}, {"id": "e", "type": "end"}],
            "edges": [{"id": "1", "source": "t", "target": "e"}],
        },
        Canvas,
    )
    await book.save_draft(ADMIN, created.id, WorkflowDraft(draft_graph=graph), current.updated_at)
    detail = await book.enable(ADMIN, created.id)
    assert detail.published is not None and detail.published.version == 2
    listed = (await book.versions(created.id)).items
    assert [v.version for v in listed] == [2, 1]
    second = await book.version(created.id, 2)
    assert second.checksum == listed[0].checksum and second.graph["edges"][0]["target"] == "e"
    async with container.uow() as uow:
        with pytest.raises(DuplicateKey):
            await uow.workflow_versions.add(msgspec.structs.replace(second, published_by=None))
        assert await uow.workflow_versions.get(created.id, 3) is None
        assert isinstance(await uow.workflow_versions.get(created.id, 1), WorkflowVersion)


async def test_scans_due_and_claimed_once(container: Any) -> None:
    book = container.workflow.definitions.workflows
    scan = await book.create(ADMIN, new("Scan", "SEGMENT_SCAN", {"interval_minutes": 30}))
    manual = await book.create(ADMIN, new("Manual"))
    paused = await book.create(ADMIN, new("Paused", "SEGMENT_SCAN", {"interval_minutes": 30}))
    for workflow in (scan, manual, paused):
        await book.enable(ADMIN, workflow.id)
    await book.disable(ADMIN, paused.id)
    now = datetime(2026, 12, 5, 10, tzinfo=UTC)
    async with container.uow() as uow:
        assert [w.id for w in await uow.workflows.due_scans(now, 10)] == [scan.id]
        assert await uow.workflows.claim_scan(scan.id, None, now)
        assert not await uow.workflows.claim_scan(scan.id, None, now)  # the loser of a race
        await uow.commit()
    async with container.uow() as uow:
        assert await uow.workflows.due_scans(now + timedelta(minutes=29), 10) == []
        due = await uow.workflows.due_scans(now + timedelta(minutes=30), 10)
        assert [(w.id, w.last_scan_at) for w in due] == [(scan.id, now)]
        later = now + timedelta(minutes=30)
        assert await uow.workflows.claim_scan(scan.id, now, later)
        assert not await uow.workflows.claim_scan(scan.id, now, later)
        assert await uow.workflows.due_scans(later + timedelta(minutes=29), 10) == []


async def test_event_workflows_by_event(container: Any) -> None:
    book = container.workflow.definitions.workflows
    created = await book.create(ADMIN, new("On create", "LEAD_EVENT", {"events": ["lead.created"]}))
    both = await book.create(
        ADMIN, new("Both", "LEAD_EVENT", {"events": ["lead.created", "lead.assigned"]})
    )
    draft = await book.create(ADMIN, new("Draft", "LEAD_EVENT", {"events": ["lead.created"]}))
    for workflow in (created, both):
        await book.enable(ADMIN, workflow.id)
    async with container.uow() as uow:
        assert {w.id for w in await uow.workflows.by_event("lead.created")} == {created.id, both.id}
        assert [w.id for w in await uow.workflows.by_event("lead.assigned")] == [both.id]
        assert await uow.workflows.by_event("lead.status_changed") == []
    assert draft.status is WorkflowStatus.DRAFT


async def test_archive_cancels_live_enrollments_in_its_transaction(container: Any) -> None:
    book = container.workflow.definitions.workflows
    workflow = await book.create(ADMIN, new("Archive me"))
    await book.enable(ADMIN, workflow.id)
    now = container.clock.now()
    statuses = ["ACTIVE", "WAITING", "FAILED", "COMPLETED"]
    async with container.uow() as uow:
        leads = [uuid7() for _ in statuses]
        await uow.session.execute(
            insert(RawLeadRow),
            [
                {
                    "id": lead,
                    "name": "Lead",
                    "phone_e164": f"+91970000000{n}",
                    "source": "MANUAL",
                    "status": "NEW",
                    "created_at": now,
                    "updated_at": now,
                }
                for n, lead in enumerate(leads)
            ],
        )
        await uow.session.execute(
            insert(ENROLLMENTS),
            [
                {
                    "id": uuid7(),
                    "workflow_id": workflow.id,
                    "version": 1,
                    "raw_lead_id": lead,
                    "status": status,
                    "current_node_id": "trigger",
                    "attempt": 1,
                    "enrolled_via": "MANUAL",
                    "context": {},
                    "started_at": now,
                    "updated_at": now,
                    "lock_version": 0,
                }
                for lead, status in zip(leads, statuses, strict=True)
            ],
        )
        await uow.commit()
    listed = await book.page(None, PageRequest())
    counts = next(w.enrollments for w in listed.items if w.id == workflow.id)
    assert {s.value: n for s, n in counts.items() if n} == dict.fromkeys(statuses, 1)
    archived, cancelled = await book.archive(ADMIN, workflow.id)
    assert cancelled == 3 and archived.status is WorkflowStatus.ARCHIVED
    async with container.uow() as uow:
        rows = (
            await uow.session.execute(
                select(ENROLLMENTS.c.status, ENROLLMENTS.c.exit_reason).where(
                    ENROLLMENTS.c.workflow_id == workflow.id
                )
            )
        ).all()
    assert sorted(r.status for r in rows) == ["CANCELLED", "CANCELLED", "CANCELLED", "COMPLETED"]
    assert {r.exit_reason for r in rows if r.status == "CANCELLED"} == {"workflow_archived"}


async def test_a_page_past_the_end_and_by_status(container: Any) -> None:
    book = container.workflow.definitions.workflows
    ids = [(await book.create(ADMIN, new(f"W{n}"))).id for n in range(3)]
    page = await book.page(None, PageRequest(page=1, page_size=2))
    assert page.total == 3 and len(page.items) == 2
    assert (await book.page(None, PageRequest(page=5, page_size=2))).items == []
    await book.enable(ADMIN, ids[0])
    active = await book.page(WorkflowStatus.ACTIVE, PageRequest())
    assert [w.id for w in active.items] == [ids[0]]
    assert {w.trigger_type for w in page.items} == {TriggerType.MANUAL}
