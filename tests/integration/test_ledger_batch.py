"""The ledger's hot path on SQLite and PostgreSQL: claims and successes shared among callers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mas.adapters.db.platform.ledger_batcher import BatchedJobRunClaims
from mas.adapters.db.session import make_engine
from mas.core.platform.errors import InvalidState
from mas.core.platform.ids import uuid7
from mas.core.platform.job_model import JobRun, JobStatus
from mas.core.platform.jobs import Claim
from tests.taskprobe import probe, probe_module

NOW = datetime(2025, 3, 1, 10, 0, 0, 123456, tzinfo=UTC)
TIMEOUT_S = 30.0


@probe("test.batch_noop", timeout_s=TIMEOUT_S)
async def batch_noop(_: Any, __: Any) -> None:
    """Does nothing (the ledger is what these tests watch)."""


TASKS_MODULE = probe_module("test_ledger_batch", batch_noop)


class SetClock:
    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current


@pytest.fixture
async def clock() -> SetClock:
    return SetClock(NOW)


@pytest.fixture
async def claims(container: Any, clock: SetClock) -> AsyncIterator[BatchedJobRunClaims]:
    batcher = BatchedJobRunClaims(container.engine, clock)
    yield batcher
    await batcher.close()


@pytest.fixture
async def other_process(container: Any, clock: SetClock) -> AsyncIterator[BatchedJobRunClaims]:
    """A second batcher on its own engine: what another worker process would run."""
    engine = make_engine(container.settings.database_url)
    batcher = BatchedJobRunClaims(engine, clock)
    yield batcher
    await batcher.close()
    await engine.dispose()


async def add_run(c: Any, status: JobStatus = JobStatus.QUEUED, **fields: Any) -> JobRun:
    run_id = uuid7()
    run = JobRun(
        id=run_id,
        task="test.batch_noop",
        idempotency_key=str(run_id),
        status=status,
        args={"n": 1},
        attempts=fields.pop("attempts", 0),
        max_attempts=3,
        enqueued_at=NOW - timedelta(minutes=1),
        **fields,
    )
    async with c.uow() as uow:
        await uow.jobs.add(run)
        await uow.commit()
    return run


async def stored(c: Any, run_id: uuid.UUID) -> JobRun:
    async with c.uow() as uow:
        run = await uow.jobs.get(run_id)
    assert run is not None
    return run  # type: ignore[no-any-return]


async def test_a_claim_is_the_start_of_the_run_in_one_statement(
    container: Any, claims: BatchedJobRunClaims
) -> None:
    queued = await add_run(container)
    failed = await add_run(
        container,
        JobStatus.FAILED,
        attempts=1,
        last_error="boom",
        next_attempt_at=NOW,
        finished_at=NOW - timedelta(seconds=5),
    )
    for run in (queued, failed):
        claimed = await claims.claim(run.id, TIMEOUT_S)
        expected = await stored(container, run.id)
        assert claimed == expected, "the claim answers what it committed"
        run.start(NOW, TIMEOUT_S)
        run.version += 1
        assert claimed == run, "the same change as JobRun.start"
        assert claimed.lease_until == NOW + timedelta(seconds=TIMEOUT_S)


async def test_each_claim_in_a_batch_gets_its_own_task_timeout(
    container: Any, claims: BatchedJobRunClaims
) -> None:
    short, long = await add_run(container), await add_run(container)
    first, second = await asyncio.gather(claims.claim(short.id, 5), claims.claim(long.id, 600))
    assert first is not None and first.lease_until == NOW + timedelta(seconds=5)
    assert second is not None and second.lease_until == NOW + timedelta(seconds=600)
    assert (await stored(container, long.id)).lease_until == NOW + timedelta(seconds=600)


@pytest.mark.committing  # a second engine: another process
async def test_concurrent_claims_of_one_run_have_exactly_one_winner(
    container: Any, claims: BatchedJobRunClaims, other_process: BatchedJobRunClaims
) -> None:
    runs = [await add_run(container) for _ in range(20)]
    outcomes = await asyncio.gather(
        *(batcher.claim(run.id, TIMEOUT_S) for run in runs for batcher in [claims] * 2),
        *(other_process.claim(run.id, TIMEOUT_S) for run in runs for _ in range(2)),
    )
    winners = [claimed.id for claimed in outcomes if claimed is not None]
    assert sorted(winners) == sorted(run.id for run in runs), "each run claimed exactly once"
    for run in runs:
        assert (await stored(container, run.id)).attempts == 1


async def test_a_terminal_run_or_a_live_lease_is_never_claimed(
    container: Any, claims: BatchedJobRunClaims, clock: SetClock
) -> None:
    finished = NOW - timedelta(seconds=1)
    terminal = [
        await add_run(container, JobStatus.SUCCEEDED, attempts=1, finished_at=finished),
        await add_run(container, JobStatus.DEAD, attempts=3, finished_at=finished),
        await add_run(container, JobStatus.SKIPPED, finished_at=finished),
    ]
    leased = await add_run(
        container, JobStatus.RUNNING, attempts=1, lease_until=NOW + timedelta(seconds=10)
    )
    everyone = [*terminal, leased]
    assert await asyncio.gather(*(claims.claim(r.id, TIMEOUT_S) for r in everyone)) == [None] * 4
    assert await claims.claim(uuid7(), TIMEOUT_S) is None, "a missing run is not claimed"
    for run in everyone:
        assert await stored(container, run.id) == run, "untouched"

    clock.current = NOW + timedelta(seconds=10)  # the lease lapses
    outcomes = await asyncio.gather(*(claims.claim(r.id, TIMEOUT_S) for r in everyone))
    assert outcomes[:3] == [None] * 3
    taken = outcomes[3]
    assert taken is not None and taken.attempts == 2
    assert taken.lease_until == clock.current + timedelta(seconds=TIMEOUT_S)
    for run in terminal:
        assert await stored(container, run.id) == run


async def test_a_batch_of_successes_changes_only_running_runs(
    container: Any, claims: BatchedJobRunClaims
) -> None:
    running = [
        await add_run(container, JobStatus.RUNNING, attempts=1, lease_until=NOW) for _ in range(3)
    ]
    others = [
        await add_run(container),
        await add_run(container, JobStatus.FAILED, attempts=1, next_attempt_at=NOW),
        await add_run(container, JobStatus.DEAD, attempts=3, finished_at=NOW),
        await add_run(container, JobStatus.SKIPPED, finished_at=NOW),
    ]
    ids = [r.id for r in running + others] + [uuid7(), running[0].id]
    answers = await asyncio.gather(*(claims.succeed(run_id) for run_id in ids))
    assert answers == [True] * 3 + [False] * 6, "a run asked twice succeeds once"
    for run in running:
        done = await stored(container, run.id)
        assert (done.status, done.finished_at, done.lease_until) == (JobStatus.SUCCEEDED, NOW, None)
        assert done.version == run.version + 1
    for run in others:
        assert await stored(container, run.id) == run


@pytest.mark.parametrize("bad_timeout_s", [TIMEOUT_S, TIMEOUT_S + 1])
async def test_one_bad_request_does_not_fail_its_batch(
    container: Any, claims: BatchedJobRunClaims, bad_timeout_s: float
) -> None:
    good = [await add_run(container) for _ in range(2)]
    outcomes = await asyncio.gather(
        claims.claim(good[0].id, TIMEOUT_S),
        claims.claim("not-a-run-id", bad_timeout_s),  # type: ignore[arg-type]
        claims.claim(good[1].id, TIMEOUT_S),
        return_exceptions=True,
    )
    assert isinstance(outcomes[1], Exception)
    assert [o.id for o in (outcomes[0], outcomes[2])] == [good[0].id, good[1].id]  # type: ignore[union-attr]
    for run in good:  # the failed batch claimed nothing; the retry claimed each once
        assert (await stored(container, run.id)).attempts == 1


async def test_the_service_takes_the_hot_path_and_explains_what_it_cannot_settle(
    container: Any,
) -> None:
    run = await add_run(container)
    claim = await container.jobs.begin(run.id, "test.batch_noop")
    assert claim.run is not None and claim.run.status is JobStatus.RUNNING
    lease = claim.run.lease_until
    assert await container.jobs.begin(run.id, "test.batch_noop") == Claim(None, busy_until=lease)
    await container.jobs.succeed(run.id)
    assert (await stored(container, run.id)).status is JobStatus.SUCCEEDED
    assert await container.jobs.begin(run.id, "test.batch_noop") == Claim(None)
    with pytest.raises(InvalidState):
        await container.jobs.succeed(run.id)
    assert await container.jobs.begin(uuid7(), "test.batch_noop") == Claim(None)
