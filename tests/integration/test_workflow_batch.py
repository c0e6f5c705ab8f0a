"""Batched steps (``Engine.step_batch``, the worker's group commit) on SQLite and PostgreSQL: one
transaction for the batch, stale and duplicate refs skipped, a failing node split out so it
ends exactly as a lone step would while the others commit."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from mas.adapters.fakes.platform import FakeAiCaller, FakeClock
from mas.core.platform.errors import ExternalUnavailable
from mas.core.workflow.model import EnrollmentStatus, NodeRunStatus
from mas.core.workflow.runs.batching import StepBatcher
from mas.core.workflow.runs.model import StepRef, WaitingFor
from tests.conftest import Database, make_settings, open_container
from tests.workflow_world import World, line

T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)  # 11:30 IST, inside the send window
Status = EnrollmentStatus
TAG = ("u", "update_lead", {"add_tags": ["nurtured"]})
EMAIL = ("mail", "send_email", {"template_key": "nurture.hello"})


@pytest.fixture
async def world(database: Database, tmp_path: Path) -> AsyncIterator[World]:
    c = await open_container(
        make_settings(database.url, tmp_path), database=database.joined, clock=FakeClock(T0)
    )
    try:
        yield World(c)
    finally:
        await c.close()


@pytest.fixture
def commits() -> Iterator[list[int]]:
    """Every session commit while the test runs (the database's transactions)."""
    seen: list[int] = []

    def count(_: Session) -> None:
        seen.append(1)

    event.listen(Session, "after_commit", count)
    try:
        yield seen
    finally:
        event.remove(Session, "after_commit", count)


async def test_a_batch_of_n_steps_commits_n_node_runs_in_one_transaction(
    world: World, commits: list[int]
) -> None:
    await world.tag("nurtured")
    graph = line(TAG)
    started = [await world.start(graph, "u", phone=f"+9199000000{n:02d}") for n in range(6)]
    refs = [StepRef(enrollment_id, "u", 0) for enrollment_id, _ in started]
    before = await world.node_run_count()
    commits.clear()

    errors = await world.engine.step_batch(refs)

    assert errors == [None] * 6
    assert len(commits) == 1
    assert await world.node_run_count() == before + 6
    for enrollment_id, lead_id in started:
        enrollment = await world.enrollment(enrollment_id)
        assert (enrollment.status, enrollment.lock_version) == (Status.COMPLETED, 1)
        assert [(r.node_id, r.status) for r in await world.runs(enrollment_id)] == [
            ("u", NodeRunStatus.SUCCEEDED)
        ]
        assert await world.lead_tags(lead_id) == ["nurtured"]
        assert await world.journal(lead_id) == 1


async def test_stale_and_duplicate_refs_are_skipped_inside_the_batch(
    world: World, commits: list[int]
) -> None:
    await world.tag("nurtured")
    current, lead_id = await world.start(line(TAG), "u", phone="+919900000021")
    stale, _ = await world.start(line(TAG), "u", phone="+919900000022")
    refs = [
        StepRef(current, "u", 0),
        StepRef(current, "u", 0),
        StepRef(stale, "u", 2),
        StepRef(stale, "elsewhere", 0),
        StepRef(uuid.uuid4(), "u", 0),  # no such enrollment
    ]
    commits.clear()

    assert await world.engine.step_batch(refs) == [None] * 5

    assert len(commits) == 1
    assert [r.node_id for r in await world.runs(current)] == ["u"]
    assert (await world.enrollment(current)).lock_version == 1
    assert await world.journal(lead_id) == 1
    assert await world.runs(stale) == []
    assert (await world.enrollment(stale)).lock_version == 0


async def test_a_batch_skips_stale_and_duplicate_refs_and_splits_out_a_failing_node(
    world: World,
) -> None:
    await world.tag("nurtured")
    await world.mail_template()
    caller = world.c.workflow.runs.ai_caller
    assert isinstance(caller, FakeAiCaller)
    caller.failing = ExternalUnavailable("the dialer is down")
    tagged, _ = await world.start(line(TAG, ("end", "end", {})), "u", phone="+919900000011")
    mailed, _ = await world.start(line(EMAIL), "mail", phone="+919900000012")
    stale, _ = await world.start(line(TAG), "u", phone="+919900000013")
    call = ("call", "ai_call", {"agent_ref": "aarya"})
    calling, _ = await world.start(line(call), "call", phone="+919900000014")
    refs = [
        StepRef(tagged, "u", 0),
        StepRef(mailed, "mail", 0),
        StepRef(tagged, "u", 0),  # the same delivery twice
        StepRef(stale, "u", 3),  # an old version
        StepRef(calling, "call", 0),  # a transient failure
    ]

    errors = await world.engine.step_batch(refs)

    assert errors == [None] * 5
    # The tag step committed and its follow-up (end) ran after the commit.
    assert [r.node_id for r in await world.runs(tagged)] == ["u", "end"]
    assert (await world.enrollment(tagged)).status is Status.COMPLETED
    assert await world.emails(mailed) == [f"wf:{mailed}:mail:1"]
    assert (await world.enrollment(mailed)).status is Status.COMPLETED
    assert (await world.enrollment(stale)).lock_version == 0
    assert await world.runs(stale) == []
    # The failing node ends as a lone step's does: a FAILED run, the retry in a minute.
    failed = await world.enrollment(calling)
    assert (failed.status, failed.waiting_for, failed.attempt) == (
        Status.WAITING,
        WaitingFor.RETRY,
        2,
    )
    assert failed.next_run_at == T0 + timedelta(minutes=1)
    assert [(r.attempt, r.status) for r in await world.runs(calling)] == [(1, NodeRunStatus.FAILED)]


async def test_a_batch_resumes_a_wait_and_ends_its_waiting_run(world: World) -> None:
    graph = line(("w", "wait", {"amount": 1, "unit": "hours"}), ("end", "end", {}))
    enrollment_id, _ = await world.start(graph, "w")
    await world.engine.step_batch([StepRef(enrollment_id, "w", 0)])
    waiting = await world.enrollment(enrollment_id)
    assert (waiting.status, waiting.waiting_for) == (Status.WAITING, WaitingFor.TIMER)
    clock = world.c.clock
    assert isinstance(clock, FakeClock)

    assert await world.engine.step_batch([StepRef(enrollment_id, "w", 1)]) == [None]  # early
    assert (await world.enrollment(enrollment_id)).lock_version == 1
    clock.advance(hours=1)
    await world.engine.step_batch([StepRef(enrollment_id, "w", 1)])

    runs = await world.runs(enrollment_id)
    assert [(r.node_id, r.status) for r in runs] == [
        ("w", NodeRunStatus.SUCCEEDED),
        ("end", NodeRunStatus.SUCCEEDED),
    ]
    assert runs[0].finished_at == clock.now()
    assert (await world.enrollment(enrollment_id)).status is Status.COMPLETED


async def test_the_batcher_runs_concurrent_deliveries_together_and_answers_each() -> None:
    batches: list[list[StepRef]] = []
    boom = RuntimeError("boom")

    async def run(refs: Any) -> list[BaseException | None]:
        batches.append(list(refs))
        await asyncio.sleep(0)
        return [boom if ref.node_id == "bad" else None for ref in refs]

    batcher = StepBatcher(run, max_size=3, linger_s=0.01, max_inflight=1)
    refs = [StepRef(uuid.uuid4(), "bad" if n == 4 else "ok", 0) for n in range(5)]
    results = await asyncio.gather(*(batcher.submit(r) for r in refs), return_exceptions=True)

    assert [len(b) for b in batches] == [3, 2]  # full at 3; the rest after the linger
    assert results == [None, None, None, None, boom]
