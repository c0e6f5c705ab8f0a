"""The pure parts of workflow intake and its views: the CRM event mirrors, the path through the
graph, the counters, and the dry run on one lead."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from mas.core.crm import events as crm_events
from mas.core.workflow.definitions.graph import Graph, load_graph, parse_graph
from mas.core.workflow.model import NodeRunStatus
from mas.core.workflow.runs import intake_tasks
from mas.core.workflow.runs.model import LeadFacts, NodeRun
from mas.core.workflow.runs.simulate import SimulatedLead, SimulationRequest, simulate
from mas.core.workflow.runs.views import RunTallies, path_of, stats_of

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("mirror", "crm"),
    [
        (intake_tasks.LeadCreatedSeen, crm_events.LeadCreated),
        (intake_tasks.LeadStatusChangedSeen, crm_events.LeadStatusChanged),
        (intake_tasks.LeadAssignedSeen, crm_events.LeadAssigned),
        (intake_tasks.LeadDeletedSeen, crm_events.LeadDeleted),
    ],
)
def test_the_event_mirrors_name_the_crm_subjects_and_fields(mirror: Any, crm: Any) -> None:
    assert mirror.subject == crm.subject
    crm_fields = {f.name: f.type for f in msgspec.structs.fields(crm)}
    for field in msgspec.structs.fields(mirror):
        if field.name == "event_id":  # added to every payload by the outbox relay
            continue
        assert field.name in crm_fields
        assert field.type == crm_fields[field.name]


def test_a_crm_payload_decodes_into_its_mirror() -> None:
    lead_id = uuid.uuid4()
    event = crm_events.LeadStatusChanged(
        lead_id=lead_id, from_status="NEW", to_status="CONVERTED", version=4, actor_id=None
    )
    decoded = msgspec.convert(event.payload(), intake_tasks.LeadStatusChangedSeen, strict=False)
    assert (decoded.lead_id, decoded.to_status, decoded.version) == (lead_id, "CONVERTED", 4)


def _run(node_id: str, status: NodeRunStatus, at: int, attempt: int = 1, **output: Any) -> NodeRun:
    started = T0 + timedelta(minutes=at)
    return NodeRun(
        id=uuid.uuid4(),
        enrollment_id=uuid.uuid4(),
        node_id=node_id,
        node_type="branch" if node_id.startswith("b") else "send_email",
        attempt=attempt,
        status=status,
        output=dict(output) or None,
        started_at=started,
        finished_at=started + timedelta(seconds=2),
    )


def test_the_path_merges_attempts_and_names_the_handle_taken() -> None:
    runs = [
        _run("b1", NodeRunStatus.SUCCEEDED, 5, handle="no"),
        _run("e1", NodeRunStatus.FAILED, 0, attempt=1),
        _run("e1", NodeRunStatus.SUCCEEDED, 1, attempt=2),
    ]
    path = path_of(runs)
    assert [(s.node_id, s.attempts, s.status, s.handle) for s in path] == [
        ("e1", 2, NodeRunStatus.SUCCEEDED, None),
        ("b1", 1, NodeRunStatus.SUCCEEDED, "no"),
    ]
    assert path[0].started_at == T0


def test_stats_count_statuses_nodes_exits_and_handles() -> None:
    workflow_id = uuid.uuid4()
    stats = stats_of(
        workflow_id,
        RunTallies(
            by_status={"ACTIVE": 2, "WAITING": 3, "EXITED": 4, "COMPLETED": 1},
            exits={"lead_status:CONVERTED": 3, "lead_deleted": 1},
            runs=[("e1", "SUCCEEDED", 5), ("e1", "SKIPPED", 2), ("b1", "SUCCEEDED", 4)],
            reached={"e1": 7, "b1": 4},
            handles=[("b1", "yes", 3), ("b1", "no", 1)],
        ),
    )
    assert (stats.enrolled, stats.active, stats.waiting, stats.exited) == (10, 2, 3, 4)
    assert stats.exited_by_reason == {"lead_status:CONVERTED": 3, "lead_deleted": 1}
    assert (stats.nodes["e1"].reached, stats.nodes["e1"].succeeded) == (7, 5)
    assert stats.nodes["e1"].skipped == 2
    assert stats.branches == {"b1": {"yes": 3, "no": 1}}


def _graph(nodes: list[dict[str, Any]], edges: list[tuple[str, str, str | None]]) -> Graph:
    raw = {
        "nodes": nodes,
        "edges": [
            {"id": f"x{n}", "source": s, "target": t, "sourceHandle": h}
            for n, (s, t, h) in enumerate(edges)
        ],
    }
    graph, issues = parse_graph(raw)
    assert graph is not None, issues
    return load_graph(graph.to_stored())


NURTURE = _graph(
    [
        {"id": "t", "type": "trigger", "data": {}},
        {
            "id": "w",
            "type": "send_whatsapp",
            "data": {
                "template_name": "welcome",
                "params": ["{{lead.first_name}}", "{{owner.name}}"],
            },
        },
        {
            "id": "c",
            "type": "ai_call",
            "data": {
                "agent_ref": "aarya",
                "wait_for_outcome": True,
                "variables": {"who": "{{lead.name}}"},
            },
        },
        {
            "id": "b",
            "type": "branch",
            "data": {"conditions": [{"field": "call.outcome", "op": "eq", "value": "INTERESTED"}]},
        },
        {"id": "yes", "type": "send_sms", "data": {"body": "Hi {{lead.first_name}}, see you"}},
        {"id": "no", "type": "send_email", "data": {"template_key": "nurture"}},
    ],
    [("t", "w", None), ("w", "c", None), ("c", "b", None), ("b", "yes", "yes"), ("b", "no", "no")],
)


def _lead(**changes: Any) -> SimulatedLead:
    facts = LeadFacts(
        id=uuid.uuid4(),
        name="Asha Rao",
        email=None,
        phone_e164="+919812345678",
        status="NEW",
        source="CSV",
        course_interest="MBA",
        assigned=True,
        owner_id=uuid.uuid4(),
    )
    return SimulatedLead(
        facts=msgspec.structs.replace(facts, **changes),
        tags=[],
        owner_name="Ravi",
        owner_phone="+919800000000",
    )


def test_a_dry_run_renders_the_messages_and_follows_the_call_outcome() -> None:
    steps = simulate(NURTURE, _lead(), "INTERESTED")
    assert [s.node_id for s in steps] == ["w", "c", "b", "yes"]
    assert steps[0].message is not None and steps[0].message.params == ["Asha", "Ravi"]
    assert steps[1].message is not None and steps[1].message.variables == {"who": "Asha Rao"}
    assert steps[2].handle == "yes"
    assert steps[3].message is not None and steps[3].message.body == "Hi Asha, see you"


def test_a_dry_run_without_an_outcome_times_out_and_skips_a_missing_email() -> None:
    steps = simulate(NURTURE, _lead(), None)
    assert [s.node_id for s in steps] == ["w", "c", "b", "no"]
    assert (steps[3].outcome, steps[3].reason) == ("SKIPPED", "NO_EMAIL")


def test_a_dry_run_skips_sends_to_a_lead_without_a_phone() -> None:
    steps = simulate(NURTURE, _lead(phone_e164=None), "INTERESTED")
    assert [(s.node_id, s.outcome) for s in steps[:2]] == [("w", "SKIPPED"), ("c", "SKIPPED")]
    assert steps[2].handle == "no"


def test_a_simulation_request_refuses_an_unknown_outcome() -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"lead_id": str(uuid.uuid4()), "call_outcome": "MAYBE"}, SimulationRequest)
