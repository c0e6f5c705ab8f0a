"""How leads enter workflows, on SQLite and PostgreSQL: segment scans (acceptance 3), versions
pinned (acceptance 8), exits on a status change (acceptance 6) and on deletion, manual
enrolment's counts, the re-enrolment policies, CRM events handled once, the views and the dry
run."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest

from mas.adapters.fakes.platform import FakeClock
from mas.core.crm.model import LeadStatus
from mas.core.crm.service import StatusRequest
from mas.core.platform.errors import InvalidState, NotFound, ValidationFailed
from mas.core.platform.paging import PageRequest
from mas.core.workflow.definitions.canvas import Canvas
from mas.core.workflow.definitions.model import SegmentFilter
from mas.core.workflow.model import EnrollmentStatus, ReenrollPolicy, TriggerType
from mas.core.workflow.runs import intake as intake_module
from mas.core.workflow.runs import intake_tasks
from mas.core.workflow.runs.intake import EnrollRequest
from mas.core.workflow.runs.simulate import SimulationRequest
from mas.core.workflow.runs.views import EnrollmentFilter
from tests.conftest import Database, make_settings, open_container
from tests.integration.workflow_world import (
    ADMIN,
    WAIT_2_DAYS,
    add_leads,
    canvas,
    end_enrollments,
    enrollments,
    make_workflow,
    publish,
    quiet_intake,
    set_lead,
    tag,
)

NOW = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


@pytest.fixture
async def c(database: Database, tmp_path: Path) -> AsyncIterator[Any]:
    container = await open_container(
        make_settings(database.url, tmp_path), database=database.joined, clock=FakeClock(NOW)
    )
    yield container
    await container.close()


async def test_a_scan_enrols_each_match_once_and_a_second_scan_nobody(
    c: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(intake_module, "SCAN_SPAN", 7)  # several spans per scan
    new = await add_leads(c, 30)
    await add_leads(c, 5, status="CONTACTED")
    gone = await add_leads(c, 2, deleted_at=NOW)
    workflow = await make_workflow(c, flt=SegmentFilter(statuses=["NEW"]), max_per_scan=20)
    intake = quiet_intake(c)

    first = await intake.run_scan(workflow.id)
    assert (first.enrolled, first.capped) == (20, True)
    second = await intake.run_scan(workflow.id)
    assert (second.enrolled, second.capped) == (10, False)
    assert (await intake.run_scan(workflow.id)).enrolled == 0

    rows = await enrollments(c, workflow.id)
    assert sorted(row["raw_lead_id"] for row in rows) == sorted(new)
    assert not {row["raw_lead_id"] for row in rows} & set(gone)
    row = rows[0]
    assert (row["status"], row["version"], row["current_node_id"]) == ("ACTIVE", 1, "w")
    assert (row["attempt"], row["lock_version"], row["context"]) == (1, 0, {})
    assert (row["next_run_at"], row["enrolled_via"]) == (NOW, "SCAN")

    await end_enrollments(c, workflow.id)  # NEVER: an ended enrollment still counts
    assert (await intake.run_scan(workflow.id)).enrolled == 0


async def test_the_cron_scans_due_workflows_once_per_interval(c: Any) -> None:
    await add_leads(c, 4)
    workflow = await make_workflow(c, flt=SegmentFilter(statuses=["NEW"]))
    intake = quiet_intake(c)
    reports = await intake.scan_due()
    assert [(r.workflow_id, r.enrolled) for r in reports] == [(workflow.id, 4)]
    await add_leads(c, 3)
    assert await intake.scan_due() == []  # not due again before its interval
    c.clock.advance(minutes=61)
    assert [r.enrolled for r in await intake.scan_due()] == [3]


async def test_a_segment_filter_reads_tags_sources_owner_and_activity(c: Any) -> None:
    tagged = await add_leads(c, 3, source="CSV")
    await tag(c, "webinar", tagged[:2])
    await add_leads(c, 2, source="CSV")
    quiet = await add_leads(c, 2, source="CSV", last_activity_at=NOW - timedelta(days=40))
    await tag(c, "mba", [tagged[0], quiet[0]])
    intake = quiet_intake(c)

    async def scan(flt: SegmentFilter) -> set[uuid.UUID]:
        workflow = await make_workflow(c, flt=flt)
        await intake.run_scan(workflow.id)
        return {row["raw_lead_id"] for row in await enrollments(c, workflow.id)}

    assert await scan(SegmentFilter(tags_any=["Webinar", "mba"])) == {*tagged[:2], quiet[0]}
    assert await scan(SegmentFilter(tags_all=["webinar", "mba"])) == {tagged[0]}
    assert await scan(SegmentFilter(no_activity_days=30, sources=["CSV"])) == set(quiet)
    assert await scan(SegmentFilter(sources=["VENDOR"])) == set()


async def test_running_enrollments_keep_their_version_new_ones_take_the_new_one(c: Any) -> None:
    first = await add_leads(c, 50)
    workflow = await make_workflow(c, TriggerType.MANUAL)
    intake = quiet_intake(c)
    counts = await intake.enroll(workflow.id, EnrollRequest(lead_ids=first), by=None)
    assert counts.enrolled == 50

    workflow = await publish(c, workflow, canvas(WAIT_2_DAYS))
    assert workflow.published_version == 2
    later = await add_leads(c, 5)
    assert (await intake.enroll(workflow.id, EnrollRequest(lead_ids=later), by=None)).enrolled == 5

    versions = {row["raw_lead_id"]: row["version"] for row in await enrollments(c, workflow.id)}
    assert {versions[lead_id] for lead_id in first} == {1}
    assert {versions[lead_id] for lead_id in later} == {2}


async def test_a_manual_enrolment_counts_what_it_skipped(c: Any) -> None:
    fresh = await add_leads(c, 3)
    live = await add_leads(c, 1)
    converted = await add_leads(c, 1, status="CONVERTED")
    deleted = await add_leads(c, 1, deleted_at=NOW)
    workflow = await make_workflow(c, TriggerType.MANUAL)
    intake = quiet_intake(c)
    await intake.enroll(workflow.id, EnrollRequest(lead_ids=live), by=None)
    before = await add_leads(c, 1)
    await intake.enroll(workflow.id, EnrollRequest(lead_ids=before), by=None)
    await end_enrollments(c, workflow.id, "EXITED")  # ``before`` and ``live`` ended
    await intake.enroll(workflow.id, EnrollRequest(lead_ids=live), by=None)  # NEVER: refused

    ids = [*fresh, *fresh[:1], *converted, *deleted, uuid.uuid4(), *before]
    admin = uuid.uuid4()
    counts = await intake.enroll(workflow.id, EnrollRequest(lead_ids=ids), by=admin)
    assert counts.enrolled == 3
    assert counts.skipped_exit_status == 1
    assert counts.not_found == 2
    assert counts.skipped_policy == 1
    rows = [r for r in await enrollments(c, workflow.id) if r["raw_lead_id"] in fresh]
    assert {(r["enrolled_via"], r["enrolled_by"]) for r in rows} == {("MANUAL", admin)}
    again = await intake.enroll(workflow.id, EnrollRequest(lead_ids=fresh), by=admin)
    assert (again.enrolled, again.skipped_already_enrolled) == (0, 3)


async def test_manual_enrolment_refuses_draft_and_archived_workflows(c: Any) -> None:
    lead = await add_leads(c, 1)
    intake = quiet_intake(c)
    draft = await make_workflow(c, TriggerType.MANUAL, enable=False)
    with pytest.raises(InvalidState):
        await intake.enroll(draft.id, EnrollRequest(lead_ids=lead), by=None)
    with pytest.raises(NotFound):
        await intake.enroll(uuid.uuid4(), EnrollRequest(lead_ids=lead), by=None)
    with pytest.raises(ValidationFailed):
        await intake.enroll(draft.id, EnrollRequest(), by=None)
    manual = await make_workflow(c, TriggerType.MANUAL)
    with pytest.raises(InvalidState):
        await intake.run_scan(manual.id)
    scan = await make_workflow(c, enable=False)
    with pytest.raises(InvalidState):
        await intake.run_scan(scan.id)


async def test_a_manual_enrolment_by_filter(c: Any) -> None:
    await add_leads(c, 4)
    await add_leads(c, 2, status="CONTACTED")
    workflow = await make_workflow(c, TriggerType.MANUAL)
    counts = await quiet_intake(c).enroll(
        workflow.id, EnrollRequest(filter=SegmentFilter(statuses=["CONTACTED"])), by=None
    )
    assert counts.enrolled == 2


@pytest.mark.parametrize(
    ("policy", "again"),
    [(ReenrollPolicy.NEVER, 0), (ReenrollPolicy.AFTER_EXIT, 3), (ReenrollPolicy.ALWAYS, 3)],
)
async def test_the_reenrolment_policies(c: Any, policy: ReenrollPolicy, again: int) -> None:
    await add_leads(c, 3)
    workflow = await make_workflow(c, flt=SegmentFilter(statuses=["NEW"]), policy=policy)
    intake = quiet_intake(c)
    assert (await intake.run_scan(workflow.id)).enrolled == 3
    assert (await intake.run_scan(workflow.id)).enrolled == 0  # live: never twice at once
    await end_enrollments(c, workflow.id, "FAILED")  # FAILED is live for every policy
    assert (await intake.run_scan(workflow.id)).enrolled == 0
    await end_enrollments(c, workflow.id, "COMPLETED")
    assert (await intake.run_scan(workflow.id)).enrolled == again


async def test_a_status_change_to_an_exit_status_exits_the_lead(c: Any) -> None:
    lead, other = await add_leads(c, 2)
    workflow = await make_workflow(c, TriggerType.MANUAL)
    runs = c.workflow.runs
    intake = quiet_intake(c)
    await intake.enroll(workflow.id, EnrollRequest(lead_ids=[lead, other]), by=None)

    await set_lead(c, lead, status="CONVERTED", version=3)
    event = intake_tasks.LeadStatusChangedSeen(lead_id=lead, to_status="CONVERTED", version=3)
    await intake_tasks.lead_status_changed(runs, event)
    await intake_tasks.lead_status_changed(runs, event)  # delivered twice
    rows = {r["raw_lead_id"]: r for r in await enrollments(c, workflow.id)}
    assert (rows[lead]["status"], rows[lead]["exit_reason"]) == ("EXITED", "lead_status:CONVERTED")
    assert (rows[lead]["lock_version"], rows[lead]["finished_at"]) == (1, NOW)
    assert rows[other]["status"] == "ACTIVE"

    # A status the workflow does not exit on leaves it alone.
    await intake_tasks.lead_status_changed(
        runs, intake_tasks.LeadStatusChangedSeen(lead_id=other, to_status="CONTACTED", version=1)
    )
    assert {r["raw_lead_id"]: r["status"] for r in await enrollments(c, workflow.id)}[
        other
    ] == "ACTIVE"


async def test_a_deleted_lead_exits_every_workflow(c: Any) -> None:
    (lead,) = await add_leads(c, 1)
    one = await make_workflow(c, TriggerType.MANUAL)
    two = await make_workflow(c, TriggerType.MANUAL)
    intake = quiet_intake(c)
    for workflow in (one, two):
        await intake.enroll(workflow.id, EnrollRequest(lead_ids=[lead]), by=None)
    await intake_tasks.lead_deleted(c.workflow.runs, intake_tasks.LeadDeletedSeen(lead_id=lead))
    for workflow in (one, two):
        (row,) = await enrollments(c, workflow.id)
        assert (row["status"], row["exit_reason"]) == ("EXITED", "lead_deleted")


async def test_a_lead_event_enrols_once_into_the_workflows_listening(c: Any) -> None:
    csv, vendor = await add_leads(c, 1, source="CSV"), await add_leads(c, 1, source="VENDOR")
    listening = await make_workflow(
        c, TriggerType.LEAD_EVENT, events=["lead.created"], flt=SegmentFilter(sources=["CSV"])
    )
    elsewhere = await make_workflow(c, TriggerType.LEAD_EVENT, events=["lead.assigned"])
    intake = quiet_intake(c)
    for lead_id in (*csv, *vendor, *csv):  # the CSV lead's event delivered twice
        enrolled, _ = await intake.on_lead_event(
            f"mas.lead.created:{lead_id}", lead_id, event="lead.created"
        )
    rows = await enrollments(c, listening.id)
    assert [(r["raw_lead_id"], r["enrolled_via"]) for r in rows] == [(csv[0], "EVENT")]
    assert await enrollments(c, elsewhere.id) == []

    await end_enrollments(c, listening.id)
    await intake.on_lead_event(f"mas.lead.created:{csv[0]}", csv[0], event="lead.created")
    assert len(await enrollments(c, listening.id)) == 1  # handled already: nothing new


async def test_the_views_list_one_enrollment_and_count(c: Any) -> None:
    leads = await add_leads(c, 4)
    workflow = await make_workflow(c, TriggerType.MANUAL)
    intake = quiet_intake(c)
    await intake.enroll(workflow.id, EnrollRequest(lead_ids=leads), by=None)
    await intake.on_lead_event("k1", leads[0], status="CONVERTED")
    history = c.workflow.runs.history

    page = await history.enrollments(workflow.id, EnrollmentFilter(), PageRequest(page_size=3))
    assert (page.total, len(page.items)) == (4, 3)
    exited = await history.enrollments(
        workflow.id, EnrollmentFilter(status=EnrollmentStatus.EXITED), PageRequest()
    )
    assert [e.raw_lead_id for e in exited.items] == [leads[0]]
    by_lead = await history.enrollments(
        workflow.id, EnrollmentFilter(lead_id=leads[1]), PageRequest()
    )
    assert by_lead.total == 1
    later = await history.enrollments(
        workflow.id, EnrollmentFilter(started_from=NOW + timedelta(seconds=1)), PageRequest()
    )
    assert later.total == 0

    detail = await history.detail(exited.items[0].id)
    assert (detail.enrollment.exit_reason, detail.node_runs, detail.path) == (
        "lead_status:CONVERTED",
        [],
        [],
    )
    stats = await history.stats(workflow.id)
    assert (stats.enrolled, stats.active, stats.exited) == (4, 3, 1)
    assert stats.exited_by_reason == {"lead_status:CONVERTED": 1}
    with pytest.raises(NotFound):
        await history.detail(uuid.uuid4())
    with pytest.raises(NotFound):
        await history.stats(uuid.uuid4())


async def test_a_dry_run_on_a_lead_writes_nothing(c: Any) -> None:
    (lead,) = await add_leads(c, 1, name="Asha Rao", course_interest="MBA")
    graph = canvas(
        WAIT_2_DAYS,
        {
            "id": "s",
            "type": "send_sms",
            "data": {"body": "Hi {{lead.first_name}} ({{lead.course_interest}})"},
        },
    )
    workflow = await make_workflow(c, TriggerType.MANUAL, graph=graph)
    simulation = await c.workflow.runs.simulator.run(workflow.id, SimulationRequest(lead_id=lead))
    assert simulation.path == ["w", "s"]
    assert simulation.version == 1
    message = simulation.steps[1].message
    assert message is not None and message.body == "Hi Asha (MBA)"
    assert await enrollments(c, workflow.id) == []
    with pytest.raises(NotFound):
        await c.workflow.runs.simulator.run(workflow.id, SimulationRequest(lead_id=uuid.uuid4()))
    draft = await make_workflow(c, TriggerType.MANUAL, graph=graph, enable=False)
    simulation = await c.workflow.runs.simulator.run(draft.id, SimulationRequest(lead_id=lead))
    assert (simulation.version, simulation.path) == (None, ["w", "s"])


async def test_a_lead_converted_while_waiting_exits_and_gets_nothing_more(c: Any) -> None:
    """Acceptance 6, end to end: the CRM's status change reaches intake through the outbox and
    the bus; the engine's release later finds nothing to run."""
    sms = {"id": "s", "type": "send_sms", "data": {"body": "Hi {{lead.first_name}}"}}
    workflow = await make_workflow(c, TriggerType.MANUAL, graph=canvas(WAIT_2_DAYS, sms))
    (lead,) = await add_leads(c, 1)
    counts = await c.workflow.runs.intake.enroll(
        workflow.id, EnrollRequest(lead_ids=[lead]), by=None
    )
    assert counts.enrolled == 1
    (row,) = await enrollments(c, workflow.id)
    assert (row["status"], row["current_node_id"]) == ("WAITING", "w")

    for status in (LeadStatus.CONTACTED, LeadStatus.INTERESTED, LeadStatus.CONVERTED):
        await c.crm.leads.change_status(
            ADMIN, lead, StatusRequest(to=status, conversion_ref="INV-1")
        )
    (row,) = await enrollments(c, workflow.id)
    assert (row["status"], row["exit_reason"]) == ("EXITED", "lead_status:CONVERTED")

    c.clock.advance(days=3)
    await c.workflow.runs.engine.release_due()
    detail = await c.workflow.runs.history.detail(row["id"])
    assert [run.node_id for run in detail.node_runs] == ["w"]


async def test_an_event_is_handled_once_per_outbox_id(c: Any) -> None:
    leads = await add_leads(c, 1, source="CSV")
    listening = await make_workflow(c, TriggerType.LEAD_EVENT, events=["lead.assigned"])
    event = intake_tasks.LeadAssignedSeen(
        lead_id=leads[0],
        slot="assigned_to",
        assignee_id=None,
        previous_assignee_id=None,
        method="MANUAL",
        event_id=uuid.uuid4(),
    )
    await intake_tasks.lead_assigned(c.workflow.runs, event)
    await end_enrollments(c, listening.id)
    await intake_tasks.lead_assigned(c.workflow.runs, event)  # redelivered
    assert len(await enrollments(c, listening.id)) == 1
    again = msgspec.structs.replace(event, event_id=uuid.uuid4())  # a later, equal assignment
    await intake_tasks.lead_assigned(c.workflow.runs, again)
    assert len(await enrollments(c, listening.id)) == 1  # NEVER: not twice


async def test_the_path_and_counters_of_runs_the_engine_made(c: Any) -> None:
    branch = {
        "id": "b",
        "type": "branch",
        "data": {"conditions": [{"field": "lead.status", "op": "eq", "value": "NEW"}]},
    }
    raw = {
        "nodes": [
            {"id": "t", "type": "trigger", "data": {}},
            branch,
            {"id": "u", "type": "update_lead", "data": {"add_tags": ["warm"]}},
            {"id": "x", "type": "end", "data": {}},
        ],
        "edges": [
            {"id": "1", "source": "t", "target": "b"},
            {"id": "2", "source": "b", "target": "u", "sourceHandle": "yes"},
            {"id": "3", "source": "b", "target": "x", "sourceHandle": "no"},
        ],
    }
    workflow = await make_workflow(c, TriggerType.MANUAL, graph=msgspec.convert(raw, Canvas))
    (fresh,) = await add_leads(c, 1)
    (contacted,) = await add_leads(c, 1, status="CONTACTED")
    await tag(c, "warm", [contacted])  # update_lead adds only tags that exist
    await c.workflow.runs.intake.enroll(
        workflow.id, EnrollRequest(lead_ids=[fresh, contacted]), by=None
    )
    rows = {r["raw_lead_id"]: r for r in await enrollments(c, workflow.id)}
    assert {r["status"] for r in rows.values()} == {"COMPLETED"}

    history = c.workflow.runs.history
    yes = await history.detail(rows[fresh]["id"])
    assert [(s.node_id, s.handle) for s in yes.path] == [("b", "yes"), ("u", None)]
    assert all(run.duration_ms is not None for run in yes.node_runs)
    no = await history.detail(rows[contacted]["id"])
    assert [(s.node_id, s.handle) for s in no.path] == [("b", "no"), ("x", None)]

    stats = await history.stats(workflow.id)
    assert (stats.enrolled, stats.completed) == (2, 2)
    assert stats.branches == {"b": {"yes": 1, "no": 1}}
    assert (stats.nodes["b"].reached, stats.nodes["b"].succeeded) == (2, 2)
    assert stats.nodes["u"].reached == 1
