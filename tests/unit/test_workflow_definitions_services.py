"""The workflow book on fakes: create, draft saves with If-Match, validate, enable (publish only
when the draft changed), disable, archive (cancels live enrollments in the same unit of work),
and the state machine's refusals (workflow.md §5, §7)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import msgspec
import pytest

from mas.adapters.fakes.platform import FakeClock
from mas.adapters.fakes.workflow import (
    DefinitionsStore,
    FakeDefinitionsUnitOfWork,
    FakeTemplateCatalog,
)
from mas.core.identity.policy import Caller, Platform, Role
from mas.core.platform.errors import Conflict, InvalidState, NotFound, ValidationFailed
from mas.core.platform.paging import PageRequest
from mas.core.workflow.definitions import DefinitionsPorts, build_definitions
from mas.core.workflow.definitions.canvas import Canvas
from mas.core.workflow.definitions.errors import GraphTooLarge, InvalidGraph
from mas.core.workflow.definitions.graph import load_graph
from mas.core.workflow.definitions.model import NewWorkflow, WorkflowDraft
from mas.core.workflow.definitions.workflows import STARTER_GRAPH, Workflows
from mas.core.workflow.model import EnrollmentStatus, TriggerType, WorkflowStatus

ADMIN = Caller(user_id=uuid.uuid4(), role=Role.ADMIN, platform=Platform.MY_ANALYTICS_SCHOOL)

GOOD = {
    "nodes": [
        {"id": "t", "type": "trigger", "data": {}},
        {"id": "w", "type": "wait", "data": {"amount": 2, "unit": "days"}},
        {"id": "m", "type": "send_email", "data": {"template_key": "welcome"}},
        {"id": "wa", "type": "send_whatsapp", "data": {"template_name": "nudge"}},
    ],
    "edges": [
        {"id": "1", "source": "t", "target": "w"},
        {"id": "2", "source": "w", "target": "m"},
        {"id": "3", "source": "m", "target": "wa"},
    ],
}


def canvas(raw: dict[str, Any]) -> Canvas:
    return msgspec.convert(raw, Canvas)


class World:
    def __init__(self) -> None:
        self.store = DefinitionsStore()
        self.clock = FakeClock()
        self.templates = FakeTemplateCatalog({"welcome"}, {("nudge", "en")})
        ports = DefinitionsPorts(
            uow=lambda: FakeDefinitionsUnitOfWork(self.store),
            clock=self.clock,
            templates=self.templates,
        )
        self.book: Workflows = build_definitions(ports).workflows

    async def create(self, name: str = "Nurture", graph: dict[str, Any] | None = GOOD) -> Any:
        data = NewWorkflow(
            name=name,
            trigger_type=TriggerType.MANUAL,
            draft_graph=canvas(graph) if graph is not None else None,
        )
        return await self.book.create(ADMIN, data)


@pytest.fixture
def world() -> World:
    return World()


async def test_create_defaults_and_name_taken(world: World) -> None:
    created = await world.create("  Nurture   leads ", graph=None)
    assert created.name == "Nurture leads"
    assert created.status is WorkflowStatus.DRAFT
    assert created.draft_graph == STARTER_GRAPH
    assert created.exit_on_statuses == ["CONVERTED", "NOT_INTERESTED", "INVALID", "CLOSED"]
    assert created.send_window.tz == "Asia/Kolkata"
    with pytest.raises(Conflict) as taken:
        await world.create("Nurture leads")
    assert taken.value.code == "workflow_name_taken"
    with pytest.raises(ValidationFailed) as blank:
        await world.create("   ")
    assert blank.value.code == "workflow_name_blank"


async def test_a_trigger_config_must_fit_its_type(world: World) -> None:
    scan = msgspec.convert(
        {
            "name": "Scan",
            "trigger_type": "SEGMENT_SCAN",
            "trigger_config": {"interval_minutes": 30, "filter": {"statuses": ["NEW"]}},
        },
        NewWorkflow,
    )
    created = await world.book.create(ADMIN, scan)
    assert created.trigger_config["interval_minutes"] == 30
    assert created.trigger_config["max_per_scan"] == 2000
    assert created.trigger().filter.statuses == ["NEW"]  # type: ignore[union-attr]
    bad = msgspec.convert(
        {"name": "Ev", "trigger_type": "LEAD_EVENT", "trigger_config": {"interval_minutes": 30}},
        NewWorkflow,
    )
    with pytest.raises(ValidationFailed) as refused:
        await world.book.create(ADMIN, bad)
    assert refused.value.code == "invalid_trigger_config"


async def test_a_draft_that_is_not_a_graph_is_not_saved(world: World) -> None:
    dangling = {**GOOD, "edges": [*GOOD["edges"], {"id": "x", "source": "wa", "target": "nope"}]}
    with pytest.raises(InvalidGraph) as refused:
        await world.create(graph=dangling)
    assert [(i.node_id, i.code) for i in refused.value.issues] == [("wa", "DANGLING_EDGE")]
    assert world.store.workflows == {}
    unreachable = {**GOOD, "edges": GOOD["edges"][:2]}  # a draft in progress is kept
    kept = (await world.create(graph=unreachable)).draft_graph["edges"]
    assert kept == [{**e, "sourceHandle": None} for e in unreachable["edges"]]


async def test_a_graph_over_512_kb_is_refused(world: World) -> None:
    big = {
        "nodes": [
            {"id": f"n{i}", "type": "end", "data": {f"k{j}": "x" * 2000 for j in range(5)}}
            for i in range(60)
        ],
        "edges": [],
    }
    with pytest.raises(GraphTooLarge):
        await world.create(graph=big)


async def test_save_draft_needs_the_updated_at_read(world: World) -> None:
    created = await world.create()
    draft = WorkflowDraft(description="two-day nudge", draft_graph=canvas(STARTER_GRAPH))
    saved = await world.book.save_draft(ADMIN, created.id, draft, created.updated_at)
    assert saved.description == "two-day nudge"
    assert saved.draft_graph == STARTER_GRAPH
    assert saved.updated_at > created.updated_at  # the clock stood still; the stamp did not
    with pytest.raises(Conflict) as stale:
        await world.book.save_draft(ADMIN, created.id, draft, created.updated_at)
    assert stale.value.code == "workflow_stale"
    other = await world.create("Other")
    with pytest.raises(Conflict) as taken:
        await world.book.save_draft(
            ADMIN, other.id, WorkflowDraft(name="Nurture"), other.updated_at
        )
    assert taken.value.code == "workflow_name_taken"
    with pytest.raises(NotFound):
        await world.book.save_draft(ADMIN, uuid.uuid4(), draft, created.updated_at)


async def test_changing_the_trigger_type_needs_a_fitting_config(world: World) -> None:
    created = await world.create()
    change = WorkflowDraft(trigger_type=TriggerType.LEAD_EVENT)
    with pytest.raises(ValidationFailed):
        await world.book.save_draft(ADMIN, created.id, change, created.updated_at)
    change = msgspec.convert(
        {"trigger_type": "LEAD_EVENT", "trigger_config": {"events": ["lead.created"]}},
        WorkflowDraft,
    )
    saved = await world.book.save_draft(ADMIN, created.id, change, created.updated_at)
    assert saved.trigger_config == {"events": ["lead.created"], "filter": {}}


async def test_enable_publishes_once_per_change(world: World) -> None:
    created = await world.create()
    detail = await world.book.enable(ADMIN, created.id)
    assert detail.workflow.status is WorkflowStatus.ACTIVE
    assert detail.published is not None and detail.published.version == 1
    version = await world.book.version(created.id, 1)
    assert load_graph(version.graph).first() == "w"
    again = await world.book.enable(ADMIN, created.id)  # ACTIVE → ACTIVE, same draft
    assert again.published is not None and again.published.version == 1
    assert (await world.book.versions(created.id)).total == 1
    moved = {
        **GOOD,
        "nodes": [{**GOOD["nodes"][0], "position": {"x": 10, "y": 0}}, *GOOD["nodes"][1:]],
    }
    current = (await world.book.get(created.id)).workflow
    await world.book.save_draft(
        ADMIN, created.id, WorkflowDraft(draft_graph=canvas(moved)), current.updated_at
    )
    assert (await world.book.get(created.id)).draft_differs is True
    published = await world.book.enable(ADMIN, created.id)
    assert published.published is not None and published.published.version == 2
    assert [v.version for v in (await world.book.versions(created.id)).items] == [2, 1]
    assert (await world.book.get(created.id)).draft_differs is False
    with pytest.raises(NotFound) as missing:
        await world.book.version(created.id, 3)
    assert missing.value.code == "workflow_version_not_found"


async def test_enable_lists_every_offending_node(world: World) -> None:
    bad = {
        "nodes": [
            *GOOD["nodes"],
            {"id": "t2", "type": "trigger", "data": {}},
            {"id": "lost", "type": "end", "data": {}},
        ],
        "edges": GOOD["edges"],
    }
    world.templates.emails.clear()
    created = await world.create(graph=bad)
    report = await world.book.validate(created.id)
    expected = {
        ("t", "MULTIPLE_TRIGGERS"),
        ("t2", "MULTIPLE_TRIGGERS"),
        ("lost", "UNREACHABLE"),
        ("m", "EMAIL_TEMPLATE_MISSING"),
    }
    assert not report.valid
    assert {(i.node_id, i.code) for i in report.issues} == expected
    with pytest.raises(InvalidGraph) as refused:
        await world.book.enable(ADMIN, created.id)
    assert {(i.node_id, i.code) for i in refused.value.issues} == expected
    assert refused.value.code == "INVALID_GRAPH"
    assert world.store.versions == {}
    assert world.store.workflows[created.id].status is WorkflowStatus.DRAFT


async def test_an_unapproved_whatsapp_template_blocks_publishing(world: World) -> None:
    world.templates.whatsapp.clear()
    created = await world.create()
    with pytest.raises(InvalidGraph) as refused:
        await world.book.enable(ADMIN, created.id)
    assert [(i.node_id, i.code) for i in refused.value.issues] == [
        ("wa", "WHATSAPP_TEMPLATE_NOT_APPROVED")
    ]


async def test_disable_and_enable_again_resumes(world: World) -> None:
    created = await world.create()
    with pytest.raises(InvalidState):
        await world.book.disable(ADMIN, created.id)  # DRAFT → PAUSED
    await world.book.enable(ADMIN, created.id)
    paused = await world.book.disable(ADMIN, created.id)
    assert paused.status is WorkflowStatus.PAUSED
    with pytest.raises(InvalidState):
        await world.book.disable(ADMIN, created.id)
    assert world.store.resumed == []
    resumed = await world.book.enable(ADMIN, created.id)
    assert resumed.workflow.status is WorkflowStatus.ACTIVE
    assert world.store.resumed == [created.id]


async def test_archive_cancels_live_enrollments_and_is_final(world: World) -> None:
    created = await world.create()
    await world.book.enable(ADMIN, created.id)
    E = EnrollmentStatus
    world.store.enrollments[created.id] = [E.ACTIVE, E.WAITING, E.FAILED, E.COMPLETED, E.EXITED]
    archived, cancelled = await world.book.archive(ADMIN, created.id)
    assert cancelled == 3
    assert archived.status is WorkflowStatus.ARCHIVED
    assert archived.archived_at == world.clock.now()
    assert world.store.cancel_reasons == [(created.id, "workflow_archived")]
    assert world.store.enrollments[created.id].count(E.CANCELLED) == 3
    with pytest.raises(Conflict) as again:
        await world.book.archive(ADMIN, created.id)
    assert again.value.code == "workflow_archived"
    with pytest.raises(InvalidState):
        await world.book.enable(ADMIN, created.id)
    with pytest.raises(Conflict) as edit:
        await world.book.save_draft(ADMIN, created.id, WorkflowDraft(), archived.updated_at)
    assert edit.value.code == "workflow_archived"
    assert (await world.create("Nurture")).name == "Nurture"  # the archived one freed the name


async def test_a_failed_archive_rolls_back_the_cancellations(world: World) -> None:
    created = await world.create()
    world.store.enrollments[created.id] = [EnrollmentStatus.ACTIVE]

    class Broken(FakeDefinitionsUnitOfWork):
        async def commit(self) -> None:
            raise RuntimeError("database went away")

    world.book._uow = lambda: Broken(world.store)  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        await world.book.archive(ADMIN, created.id)
    assert world.store.enrollments[created.id] == [EnrollmentStatus.ACTIVE]
    assert world.store.workflows[created.id].status is WorkflowStatus.DRAFT


async def test_page_counts_enrollments_per_status(world: World) -> None:
    first = await world.create("A")
    world.clock.advance(seconds=1)
    second = await world.create("B")
    world.store.enrollments[first.id] = [
        EnrollmentStatus.ACTIVE,
        EnrollmentStatus.ACTIVE,
        EnrollmentStatus.COMPLETED,
    ]
    page = await world.book.page(None, PageRequest())
    assert [w.id for w in page.items] == [second.id, first.id]
    counts = page.items[1].enrollments
    assert counts[EnrollmentStatus.ACTIVE] == 2 and counts[EnrollmentStatus.COMPLETED] == 1
    assert counts[EnrollmentStatus.FAILED] == 0 and len(counts) == len(EnrollmentStatus)
    await world.book.archive(ADMIN, second.id)
    assert [w.id for w in (await world.book.page(None, PageRequest())).items] == [first.id]
    archived = await world.book.page(WorkflowStatus.ARCHIVED, PageRequest())
    assert [w.id for w in archived.items] == [second.id]


async def test_missing_workflows_are_404(world: World) -> None:
    for call in (
        world.book.get(uuid.uuid4()),
        world.book.validate(uuid.uuid4()),
        world.book.enable(ADMIN, uuid.uuid4()),
        world.book.disable(ADMIN, uuid.uuid4()),
        world.book.archive(ADMIN, uuid.uuid4()),
        world.book.versions(uuid.uuid4()),
        world.book.version(uuid.uuid4(), 1),
    ):
        with pytest.raises(NotFound) as missing:
            await call
        assert missing.value.code == "workflow_not_found"


async def test_a_move_raced_by_another_writer_is_409_not_lost(world: World) -> None:
    created = await world.create()

    class Raced(FakeDefinitionsUnitOfWork):
        """Another writer saves the workflow right after this unit of work read it."""

        def __init__(self, store: DefinitionsStore) -> None:
            super().__init__(store)
            read = self.workflows.get_for_update

            async def get_for_update(workflow_id: uuid.UUID) -> Any:
                found = await read(workflow_id)
                if found is not None:
                    store.workflows[workflow_id] = msgspec.structs.replace(
                        found, description="theirs", updated_at=found.updated_at + timedelta(1)
                    )
                return found

            self.workflows.get_for_update = get_for_update  # type: ignore[method-assign]

    world.book._uow = lambda: Raced(world.store)  # type: ignore[method-assign]
    for move in (world.book.enable, world.book.archive):
        with pytest.raises(Conflict) as raced:
            await move(ADMIN, created.id)
        assert raced.value.code == "workflow_stale"
    assert world.store.workflows[created.id].status is WorkflowStatus.DRAFT
    assert world.store.versions == {}
