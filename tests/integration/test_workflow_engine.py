"""The workflow engine on SQLite and PostgreSQL (workflow.md §6, acceptance checks 4, 5, 6, 7,
9, 10, 11, 13, 14): a frozen clock, the in-memory broker running each step inline, waits
released by moving the clock and calling ``release_due``."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mas.adapters.fakes.platform import FakeAiCaller, FakeClock
from mas.core.platform.errors import ExternalUnavailable, InvalidState, NotFound
from mas.core.workflow.model import EnrollmentStatus, NodeRunStatus
from mas.core.workflow.runs.model import StepRef, WaitingFor
from tests.conftest import Database, make_settings, open_container
from tests.workflow_world import World, graph_of, line

# 11:30 IST: inside the default send window.
T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
Status = EnrollmentStatus


@pytest.fixture
async def world(database: Database, tmp_path: Path) -> AsyncIterator[World]:
    clock = FakeClock(T0)
    c = await open_container(
        make_settings(database.url, tmp_path, whatsapp_provider="fake"),
        database=database.joined,
        clock=clock,
    )
    try:
        yield World(c)
    finally:
        await c.close()


def clock_of(world: World) -> FakeClock:
    clock = world.c.clock
    assert isinstance(clock, FakeClock)
    return clock


def caller_of(world: World) -> FakeAiCaller:
    caller = world.c.workflow.runs.ai_caller
    assert isinstance(caller, FakeAiCaller)
    return caller


EMAIL = ("mail", "send_email", {"template_key": "nurture.hello"})


async def test_a_chain_runs_to_its_end_one_node_run_per_node(world: World) -> None:
    await world.mail_template()
    await world.tag("nurtured")
    graph = graph_of(
        [
            ("t", "trigger", {}),
            (
                "b",
                "branch",
                {"conditions": [{"field": "lead.status", "op": "eq", "value": "NEW"}]},
            ),
            ("u", "update_lead", {"add_tags": ["nurtured"], "set_status": "CONTACTED"}),
            EMAIL,
            ("end", "end", {}),
        ],
        [
            ("t", "b", None),
            ("b", "u", "yes"),
            ("b", "end", "no"),
            ("u", "mail", None),
            ("mail", "end", None),
        ],
    )
    enrollment_id, lead_id = await world.start(graph, "b")

    assert await world.release() == 1

    enrollment = await world.enrollment(enrollment_id)
    assert enrollment.status is Status.COMPLETED
    assert enrollment.finished_at == T0
    assert enrollment.lock_version == 4
    runs = await world.runs(enrollment_id)
    assert [(r.node_id, r.status, r.attempt) for r in runs] == [
        ("b", NodeRunStatus.SUCCEEDED, 1),
        ("u", NodeRunStatus.SUCCEEDED, 1),
        ("mail", NodeRunStatus.SUCCEEDED, 1),
        ("end", NodeRunStatus.SUCCEEDED, 1),
    ]
    assert runs[0].output is not None and runs[0].output["handle"] == "yes"
    assert await world.emails(enrollment_id) == [f"wf:{enrollment_id}:mail:1"]
    assert await world.journal(lead_id) == 4
    assert await world.lead_tags(lead_id) == ["nurtured"]
    assert await world.lead_status(lead_id) == "CONTACTED"
    assert enrollment.context["email"]["status"] == "QUEUED"


async def test_a_wait_then_whatsapp_sends_nothing_until_the_clock_passes(world: World) -> None:
    """Acceptance 4."""
    await world.wa_template()
    graph = line(
        ("w", "wait", {"amount": 2, "unit": "days"}),
        ("wa", "send_whatsapp", {"template_name": "welcome", "params": ["{{lead.first_name}}"]}),
    )
    enrollment_id, _ = await world.start(graph, "w")
    clock = clock_of(world)

    await world.release()
    waiting = await world.enrollment(enrollment_id)
    assert (waiting.status, waiting.waiting_for) == (Status.WAITING, WaitingFor.TIMER)
    assert waiting.next_run_at == T0 + timedelta(days=2)
    clock.advance(days=1, hours=23, minutes=59)
    assert await world.release() == 0
    assert await world.whatsapps(enrollment_id) == []

    clock.advance(minutes=1)
    assert await world.release() == 1
    assert await world.whatsapps(enrollment_id) == [f"wf:{enrollment_id}:wa:1"]
    done = await world.enrollment(enrollment_id)
    assert done.status is Status.COMPLETED
    wait_run = (await world.runs(enrollment_id))[0]
    assert (wait_run.status, wait_run.finished_at) == (NodeRunStatus.SUCCEEDED, clock.now())


async def test_the_same_step_delivered_twice_runs_once(world: World) -> None:
    """Acceptance 5: the second delivery finds the lock_version moved on."""
    await world.mail_template()
    enrollment_id, _ = await world.start(line(EMAIL), "mail")
    ref = StepRef(enrollment_id, "mail", 0)

    await world.engine.step(ref)
    await world.engine.step(ref)

    assert len(await world.runs(enrollment_id)) == 1
    assert await world.emails(enrollment_id) == [f"wf:{enrollment_id}:mail:1"]
    assert (await world.enrollment(enrollment_id)).status is Status.COMPLETED


async def test_a_stale_or_early_step_is_a_no_op(world: World) -> None:
    await world.mail_template()
    graph = line(("w", "wait", {"amount": 1, "unit": "hours"}), EMAIL)
    enrollment_id, _ = await world.start(graph, "w")
    await world.release()
    waiting = await world.enrollment(enrollment_id)

    # Right node and version, but not due yet; then an old version; then the wrong node.
    await world.engine.step(StepRef(enrollment_id, "w", waiting.lock_version))
    await world.engine.step(StepRef(enrollment_id, "w", 0))
    await world.engine.step(StepRef(enrollment_id, "mail", waiting.lock_version))

    assert await world.enrollment(enrollment_id) == waiting
    assert len(await world.runs(enrollment_id)) == 1


async def test_a_lead_converted_while_waiting_exits_with_nothing_sent(world: World) -> None:
    """Acceptance 6."""
    await world.mail_template()
    graph = line(("w", "wait", {"amount": 1, "unit": "days"}), EMAIL)
    enrollment_id, lead_id = await world.start(graph, "w")
    await world.release()

    await world.set_lead(lead_id, status="CONVERTED")
    clock_of(world).advance(days=1)
    await world.release()

    exited = await world.enrollment(enrollment_id)
    assert (exited.status, exited.exit_reason) == (Status.EXITED, "lead_status:CONVERTED")
    assert await world.emails(enrollment_id) == []


async def test_a_deleted_lead_exits(world: World) -> None:
    await world.mail_template()
    enrollment_id, lead_id = await world.start(line(EMAIL), "mail")
    await world.set_lead(lead_id, deleted_at=T0)

    await world.release()

    exited = await world.enrollment(enrollment_id)
    assert (exited.status, exited.exit_reason) == (Status.EXITED, "lead_deleted")


async def test_pausing_stops_sends_and_resuming_continues_from_the_node(world: World) -> None:
    """Acceptance 7."""
    await world.mail_template()
    lead_id = await world.lead()
    workflow_id = await world.workflow(line(EMAIL))
    enrollment_id = await world.enroll(workflow_id, lead_id, "mail")
    await world.set_workflow(workflow_id, status="PAUSED")

    await world.release()

    paused = await world.enrollment(enrollment_id)
    assert (paused.status, paused.waiting_for) == (Status.WAITING, WaitingFor.PAUSED)
    assert paused.next_run_at == T0 + timedelta(minutes=15)
    assert await world.emails(enrollment_id) == []
    assert await world.runs(enrollment_id) == []

    await world.set_workflow(workflow_id, status="ACTIVE")
    async with world.c.uow() as uow:
        assert await uow.workflow_enrollments.resume_paused(workflow_id, at=T0) == 1
        await uow.commit()
    await world.release()

    assert (await world.enrollment(enrollment_id)).status is Status.COMPLETED
    assert await world.emails(enrollment_id) == [f"wf:{enrollment_id}:mail:1"]


async def test_a_lead_without_email_is_skipped_and_a_branch_on_email_takes_no(
    world: World,
) -> None:
    """Acceptance 9 and §10: a skipped send makes a branch on its channel take ``no``."""
    await world.mail_template()
    graph = graph_of(
        [
            ("t", "trigger", {}),
            EMAIL,
            (
                "b",
                "branch",
                {"conditions": [{"field": "email.status", "op": "ne", "value": "FAILED"}]},
            ),
            ("yes", "end", {}),
            ("no", "end", {}),
        ],
        [("t", "mail", None), ("mail", "b", None), ("b", "yes", "yes"), ("b", "no", "no")],
    )
    enrollment_id, _ = await world.start(graph, "mail", email=None)

    await world.release()

    runs = await world.runs(enrollment_id)
    assert [(r.node_id, r.status) for r in runs] == [
        ("mail", NodeRunStatus.SKIPPED),
        ("b", NodeRunStatus.SUCCEEDED),
        ("no", NodeRunStatus.SUCCEEDED),
    ]
    assert runs[0].output == {"reason": "NO_EMAIL"}
    assert await world.emails(enrollment_id) == []


def _call_graph() -> dict[str, Any]:
    return graph_of(
        [
            ("t", "trigger", {}),
            ("call", "ai_call", {"agent_ref": "aarya", "wait_for_outcome": True}),
            (
                "b",
                "branch",
                {"conditions": [{"field": "call.outcome", "op": "eq", "value": "INTERESTED"}]},
            ),
            ("yes", "end", {}),
            ("no", "end", {}),
        ],
        [("t", "call", None), ("call", "b", None), ("b", "yes", "yes"), ("b", "no", "no")],
    )


async def test_an_ai_call_resumes_on_its_outcome_and_the_branch_reads_it(world: World) -> None:
    """Acceptance 10, the event."""
    enrollment_id, _ = await world.start(_call_graph(), "call")
    await world.release()
    waiting = await world.enrollment(enrollment_id)
    assert (waiting.status, waiting.waiting_for) == (Status.WAITING, WaitingFor.CALL)
    assert waiting.next_run_at == T0 + timedelta(minutes=60)
    caller = caller_of(world)
    [call] = caller.calls
    assert call["idempotency_key"] == f"wf:{enrollment_id}:call:1"

    # An outcome for another call changes nothing; the enrollment's own resumes it.
    await world.engine.call_completed(caller.complete("call-unknown", "BUSY"))
    assert await world.enrollment(enrollment_id) == waiting
    event = caller.complete(call["call_id"], "INTERESTED")
    await world.c.bus.publish(event.subject, event.payload())

    done = await world.enrollment(enrollment_id)
    assert done.status is Status.COMPLETED
    assert done.context["call"] == {"id": call["call_id"], "outcome": "INTERESTED"}
    assert [r.node_id for r in await world.runs(enrollment_id)] == ["call", "b", "yes"]


async def test_an_ai_call_with_no_outcome_resumes_after_its_timeout(world: World) -> None:
    """Acceptance 10, the timeout; a late event is ignored."""
    enrollment_id, _ = await world.start(_call_graph(), "call")
    await world.release()
    clock_of(world).advance(minutes=60)

    await world.release()

    done = await world.enrollment(enrollment_id)
    assert done.context["call"]["outcome"] == "TIMEOUT"
    runs = await world.runs(enrollment_id)
    assert [r.node_id for r in runs] == ["call", "b", "no"]
    assert runs[0].output is not None and runs[0].output["outcome"] == "TIMEOUT"
    await world.engine.call_completed(caller_of(world).complete("call-1", "INTERESTED"))
    assert await world.enrollment(enrollment_id) == done


async def test_three_transient_failures_fail_and_retry_makes_attempt_four(world: World) -> None:
    """Acceptance 11: 1 min, then 5 min between the attempts, FAILED after the third."""
    graph = line(("call", "ai_call", {"agent_ref": "aarya"}))
    enrollment_id, _ = await world.start(graph, "call")
    caller = caller_of(world)
    caller.failing = ExternalUnavailable("the dialer is down")
    clock = clock_of(world)

    await world.release()
    first = await world.enrollment(enrollment_id)
    assert (first.status, first.waiting_for, first.attempt) == (
        Status.WAITING,
        WaitingFor.RETRY,
        2,
    )
    assert first.next_run_at == T0 + timedelta(minutes=1)
    clock.advance(minutes=1)
    await world.release()
    second = await world.enrollment(enrollment_id)
    assert (second.attempt, second.next_run_at) == (3, clock.now() + timedelta(minutes=5))
    clock.advance(minutes=5)
    await world.release()

    failed = await world.enrollment(enrollment_id)
    assert (failed.status, failed.attempt) == (Status.FAILED, 3)
    assert failed.last_error is not None and "dialer is down" in failed.last_error

    caller.failing = None
    await world.engine.retry(enrollment_id)

    assert (await world.enrollment(enrollment_id)).status is Status.COMPLETED
    runs = await world.runs(enrollment_id)
    assert [(r.attempt, r.status) for r in runs] == [
        (1, NodeRunStatus.FAILED),
        (2, NodeRunStatus.FAILED),
        (3, NodeRunStatus.FAILED),
        (4, NodeRunStatus.SUCCEEDED),
    ]
    assert caller.calls[0]["idempotency_key"] == f"wf:{enrollment_id}:call:4"


async def test_a_missing_template_fails_at_once_and_bulk_retry_continues(world: World) -> None:
    """§10: a permanent failure; the admin fixes the template and bulk-retries."""
    lead_id = await world.lead()
    workflow_id = await world.workflow(line(EMAIL))
    enrollment_id = await world.enroll(workflow_id, lead_id, "mail")

    await world.release()

    failed = await world.enrollment(enrollment_id)
    assert (failed.status, failed.attempt) == (Status.FAILED, 1)
    assert [r.status for r in await world.runs(enrollment_id)] == [NodeRunStatus.FAILED]

    await world.mail_template()
    assert await world.engine.retry_failed(workflow_id) == 1
    assert (await world.enrollment(enrollment_id)).status is Status.COMPLETED
    assert await world.emails(enrollment_id) == [f"wf:{enrollment_id}:mail:2"]


async def test_an_illegal_status_change_fails_the_node(world: World) -> None:
    graph = line(("u", "update_lead", {"set_status": "QUALIFIED"}))
    enrollment_id, lead_id = await world.start(graph, "u")

    await world.release()

    failed = await world.enrollment(enrollment_id)
    assert failed.status is Status.FAILED
    assert failed.last_error is not None and "NEW" in failed.last_error
    assert await world.lead_status(lead_id) == "NEW"


async def test_a_send_at_2330_ist_waits_for_0900_without_a_failed_run(world: World) -> None:
    """Acceptance 13."""
    await world.mail_template()
    clock = clock_of(world)
    clock.set(datetime(2026, 12, 1, 18, 0, tzinfo=UTC))  # 23:30 IST
    lead_id = await world.lead()
    workflow_id = await world.workflow(
        line(EMAIL), window={"start": "09:00", "end": "21:00", "tz": "Asia/Kolkata"}
    )
    enrollment_id = await world.enroll(workflow_id, lead_id, "mail")

    await world.release()

    deferred = await world.enrollment(enrollment_id)
    nine_ist = datetime(2026, 12, 2, 3, 30, tzinfo=UTC)
    assert (deferred.status, deferred.waiting_for) == (Status.WAITING, WaitingFor.WINDOW)
    assert deferred.next_run_at == nine_ist
    assert await world.runs(enrollment_id) == []
    clock.set(nine_ist)
    await world.release()
    assert await world.emails(enrollment_id) == [f"wf:{enrollment_id}:mail:1"]


async def test_archiving_cancels_live_enrollments(world: World) -> None:
    """Acceptance 14: the definitions part's archive calls ``cancel_live``; a step of an
    ARCHIVED workflow cancels its enrollment too."""
    await world.mail_template()
    graph = line(("w", "wait", {"amount": 1, "unit": "days"}), EMAIL)
    workflow_id = await world.workflow(graph)
    first = await world.enroll(workflow_id, await world.lead(), "w")
    second = await world.enroll(workflow_id, await world.lead(phone="+919900000002"), "w")
    await world.release()

    async with world.c.uow() as uow:
        counts = await uow.workflow_enrollments.status_counts([workflow_id])
        assert counts == {workflow_id: {"WAITING": 2}}
        cancelled = await uow.workflow_enrollments.cancel_live(
            workflow_id, reason="workflow_archived", at=T0
        )
        await uow.commit()
    assert cancelled == 2
    for enrollment_id in (first, second):
        enrollment = await world.enrollment(enrollment_id)
        assert (enrollment.status, enrollment.exit_reason) == (
            Status.CANCELLED,
            "workflow_archived",
        )
    clock_of(world).advance(days=1)
    assert await world.release() == 0

    third = await world.enroll(workflow_id, await world.lead(phone="+919900000003"), "w")
    await world.set_workflow(workflow_id, status="ARCHIVED")
    await world.release()
    assert (await world.enrollment(third)).status is Status.CANCELLED


async def test_admin_retry_and_cancel_refuse_illegal_moves(world: World) -> None:
    await world.mail_template()
    enrollment_id, _ = await world.start(line(EMAIL), "mail")
    with pytest.raises(InvalidState):
        await world.engine.retry(enrollment_id)
    cancelled = await world.engine.cancel(enrollment_id)
    assert (cancelled.status, cancelled.exit_reason) == (Status.CANCELLED, "cancelled_by_admin")
    with pytest.raises(InvalidState):
        await world.engine.cancel(enrollment_id)
    with pytest.raises(NotFound):
        await world.engine.retry(uuid.uuid4())
    with pytest.raises(NotFound):
        await world.engine.retry_failed(uuid.uuid4())
    assert await world.release() == 0


async def test_the_sweeper_redrives_an_active_enrollment_whose_step_was_lost(
    world: World,
) -> None:
    await world.mail_template()
    enrollment_id, _ = await world.start(line(EMAIL), "mail")
    async with world.c.uow() as uow:  # claimed, then its message lost
        [ref] = await uow.workflow_enrollments.claim_due(T0, 10)
        await uow.commit()
    assert ref == StepRef(enrollment_id, "mail", 0)
    clock = clock_of(world)
    clock.advance(minutes=9)
    assert await world.engine.sweep() == 0

    clock.advance(minutes=2)
    assert await world.engine.sweep() == 1

    assert (await world.enrollment(enrollment_id)).status is Status.COMPLETED
    assert await world.emails(enrollment_id) == [f"wf:{enrollment_id}:mail:1"]


async def test_an_outcome_arriving_while_paused_is_kept_for_the_resume(world: World) -> None:
    lead_id = await world.lead()
    workflow_id = await world.workflow(_call_graph())
    enrollment_id = await world.enroll(workflow_id, lead_id, "call")
    await world.release()
    await world.set_workflow(workflow_id, status="PAUSED")
    clock_of(world).advance(minutes=60)
    await world.release()  # the timeout, deferred by the pause
    assert (await world.enrollment(enrollment_id)).waiting_for is WaitingFor.PAUSED

    await world.engine.call_completed(caller_of(world).complete("call-1", "INTERESTED"))
    await world.set_workflow(workflow_id, status="ACTIVE")
    async with world.c.uow() as uow:
        await uow.workflow_enrollments.resume_paused(workflow_id, at=clock_of(world).now())
        await uow.commit()
    await world.release()

    assert [r.node_id for r in await world.runs(enrollment_id)] == ["call", "b", "yes"]
