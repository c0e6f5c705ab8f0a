"""JobService against in-memory fakes: what a task author and an operator see of the ledger."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from mas.adapters.fakes.platform import (
    FakeClock,
    FakeJobRunClaims,
    FakePlatformUnitOfWork,
    FakeTaskQueue,
    PlatformStore,
    QueueDown,
)
from mas.core.platform.errors import Conflict, InvalidState, NotFound
from mas.core.platform.job_model import JobFilter, JobRun, JobStatus, RetryPolicy
from mas.core.platform.jobs import Claim, JobService
from mas.core.platform.paging import PageRequest

START = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
TASK = "crm.assign_leads"
POLICY = RetryPolicy(max_attempts=3, base_delay_s=10, max_delay_s=3600, jitter=0, timeout_s=60)


class Ledger:
    def __init__(
        self, policies: dict[str, RetryPolicy] | None = None, *, hot_path: bool = False
    ) -> None:
        self.store = PlatformStore()
        self.queue = FakeTaskQueue()
        self.clock = FakeClock(START)
        self.service = JobService(
            lambda: FakePlatformUnitOfWork(self.store),
            self.queue,
            self.clock,
            policies or {TASK: POLICY},
            rng=random.Random(42),
            claims=FakeJobRunClaims(self.store, self.clock) if hot_path else None,
        )

    def stored(self, run_id: uuid.UUID) -> JobRun:
        return self.store.runs[run_id]

    async def run_once(self, run_id: uuid.UUID, error: str = "boom") -> JobRun:
        claim = await self.service.begin(run_id)
        assert claim.run is not None
        return await self.service.fail(run_id, error)


@pytest.fixture
def ledger() -> Ledger:
    return Ledger()


# --- enqueue -----------------------------------------------------------------------------------


async def test_enqueue_records_a_queued_run_and_sends_it_once(ledger: Ledger) -> None:
    run = await ledger.service.enqueue(TASK, {"batch": 7})
    assert ledger.queue.sent == [(TASK, run.id)]
    stored = ledger.stored(run.id)
    assert stored.status is JobStatus.QUEUED
    assert stored.args == {"batch": 7}
    assert (stored.attempts, stored.max_attempts) == (0, 3)
    assert stored.enqueued_at == START
    assert stored.idempotency_key == str(run.id)  # no key: the run is its own key


async def test_enqueue_without_keys_never_dedupes(ledger: Ledger) -> None:
    first = await ledger.service.enqueue(TASK)
    second = await ledger.service.enqueue(TASK)
    assert first.id != second.id
    assert [run_id for _, run_id in ledger.queue.sent] == [first.id, second.id]


async def test_same_key_twice_gives_a_skipped_row_and_sends_nothing(ledger: Ledger) -> None:
    first = await ledger.service.enqueue(TASK, key="lead-42")
    ledger.clock.advance(seconds=3)
    second = await ledger.service.enqueue(TASK, key="lead-42")
    assert second.id != first.id
    assert second.status is JobStatus.SKIPPED
    assert second.duplicate_of == first.id
    assert ledger.queue.sent == [(TASK, first.id)]
    stored = ledger.stored(second.id)
    assert stored.status is JobStatus.SKIPPED
    assert stored.duplicate_of == first.id
    assert stored.finished_at == START + timedelta(seconds=3)
    assert ledger.stored(first.id).status is JobStatus.QUEUED


async def test_a_key_stays_taken_after_its_run_finished(ledger: Ledger) -> None:
    first = await ledger.service.enqueue(TASK, key="daily-2025-03-01")
    await ledger.service.begin(first.id)
    await ledger.service.succeed(first.id)
    again = await ledger.service.enqueue(TASK, key="daily-2025-03-01")
    assert again.status is JobStatus.SKIPPED
    assert again.duplicate_of == first.id
    assert len(ledger.queue.sent) == 1


async def test_the_same_key_on_another_task_is_not_a_duplicate() -> None:
    ledger = Ledger({TASK: POLICY, "mrlearn.sync_course": POLICY})
    a = await ledger.service.enqueue(TASK, key="k")
    b = await ledger.service.enqueue("mrlearn.sync_course", key="k")
    assert b.status is JobStatus.QUEUED
    assert ledger.queue.sent == [(TASK, a.id), ("mrlearn.sync_course", b.id)]


async def test_unknown_task_is_refused_and_nothing_is_recorded(ledger: Ledger) -> None:
    with pytest.raises(NotFound) as caught:
        await ledger.service.enqueue("crm.no_such_task")
    assert caught.value.code == "unknown_task"
    assert "crm.no_such_task" in caught.value.detail
    assert ledger.store.runs == {}
    assert ledger.queue.sent == []


async def test_delayed_enqueue_is_sent_only_once_due(ledger: Ledger) -> None:
    run = await ledger.service.enqueue(TASK, key="reminder", delay=timedelta(minutes=5))
    assert ledger.queue.sent == []
    assert ledger.stored(run.id).status is JobStatus.QUEUED

    ledger.clock.advance(minutes=4, seconds=59)
    assert await ledger.service.release_due() == 0
    assert ledger.queue.sent == []

    ledger.clock.advance(seconds=1)
    assert await ledger.service.release_due() == 1
    assert ledger.queue.sent == [(TASK, run.id)]

    ledger.clock.advance(minutes=10)
    assert await ledger.service.release_due() == 0  # released rows are gone
    assert len(ledger.queue.sent) == 1
    assert ledger.store.run_at == []


async def test_a_release_that_crashed_mid_send_is_sent_again_after_the_hold(
    ledger: Ledger,
) -> None:
    run = await ledger.service.enqueue(TASK, delay=timedelta(seconds=5))
    ledger.clock.advance(seconds=5)
    ledger.queue.down = True
    with pytest.raises(QueueDown):
        await ledger.service.release_due()
    ledger.queue.down = False

    assert await ledger.service.release_due() == 0  # still held by the crashed releaser
    ledger.clock.advance(seconds=61)
    assert await ledger.service.release_due() == 1
    assert ledger.queue.sent == [(TASK, run.id)]
    assert ledger.store.run_at == []


async def test_a_zero_delay_sends_at_once(ledger: Ledger) -> None:
    run = await ledger.service.enqueue(TASK, delay=timedelta(0))
    assert ledger.queue.sent == [(TASK, run.id)]
    assert ledger.store.run_at == []


async def test_release_due_sends_at_most_limit(ledger: Ledger) -> None:
    for _ in range(3):
        await ledger.service.enqueue(TASK, delay=timedelta(seconds=1))
    ledger.clock.advance(seconds=1)
    assert await ledger.service.release_due(limit=2) == 2
    assert await ledger.service.release_due(limit=2) == 1
    assert len(ledger.queue.sent) == 3


async def test_a_delayed_duplicate_schedules_nothing(ledger: Ledger) -> None:
    await ledger.service.enqueue(TASK, key="k", delay=timedelta(minutes=1))
    dup = await ledger.service.enqueue(TASK, key="k", delay=timedelta(minutes=1))
    assert dup.status is JobStatus.SKIPPED
    assert len(ledger.store.run_at) == 1


# --- begin -------------------------------------------------------------------------------------


async def test_begin_claims_a_queued_run(ledger: Ledger) -> None:
    run = await ledger.service.enqueue(TASK)
    claim = await ledger.service.begin(run.id)
    assert claim.run is not None
    assert claim.run.status is JobStatus.RUNNING
    assert claim.busy_until is None
    stored = ledger.stored(run.id)
    assert stored.status is JobStatus.RUNNING
    assert stored.attempts == 1
    assert stored.lease_until == START + timedelta(seconds=POLICY.timeout_s)


async def test_begin_on_a_finished_run_does_nothing(ledger: Ledger) -> None:
    run = await ledger.service.enqueue(TASK)
    await ledger.service.begin(run.id)
    await ledger.service.succeed(run.id)
    assert ledger.stored(run.id).status is JobStatus.SUCCEEDED
    assert await ledger.service.begin(run.id) == Claim(None)  # nothing to do, nothing to wait
    assert ledger.stored(run.id).attempts == 1


async def test_begin_on_a_skipped_run_does_nothing(ledger: Ledger) -> None:
    await ledger.service.enqueue(TASK, key="k")
    dup = await ledger.service.enqueue(TASK, key="k")
    assert await ledger.service.begin(dup.id) == Claim(None)
    assert ledger.stored(dup.id).status is JobStatus.SKIPPED


async def test_begin_on_an_unknown_run_does_nothing(ledger: Ledger) -> None:
    assert await ledger.service.begin(uuid.uuid4()) == Claim(None)


async def test_begin_while_another_delivery_holds_the_lease_waits_for_it(ledger: Ledger) -> None:
    run = await ledger.service.enqueue(TASK)
    assert (await ledger.service.begin(run.id)).run is not None
    ledger.clock.advance(seconds=POLICY.timeout_s - 1)
    claim = await ledger.service.begin(run.id)
    assert claim.run is None
    assert claim.busy_until == START + timedelta(seconds=POLICY.timeout_s)
    assert ledger.stored(run.id).attempts == 1


async def test_begin_after_the_lease_lapsed_takes_over(ledger: Ledger) -> None:
    run = await ledger.service.enqueue(TASK)
    await ledger.service.begin(run.id)
    ledger.clock.advance(seconds=POLICY.timeout_s)
    claim = await ledger.service.begin(run.id)
    assert claim.run is not None
    assert claim.run.attempts == 2
    stored = ledger.stored(run.id)
    assert stored.attempts == 2
    assert stored.lease_until == ledger.clock.now() + timedelta(seconds=POLICY.timeout_s)


async def test_begin_loses_to_a_delivery_that_wrote_first(ledger: Ledger) -> None:
    run = await ledger.service.enqueue(TASK)

    def someone_else_claims(_: JobRun) -> None:
        ledger.store.runs[run.id].version += 1

    ledger.store.before_save = someone_else_claims
    claim = await ledger.service.begin(run.id)
    assert claim == Claim(None, busy_until=START)  # ask again at once
    assert ledger.stored(run.id).status is JobStatus.QUEUED  # our claim was not written


# --- the hot path (JobRunClaims) --------------------------------------------------------------


async def test_the_hot_path_claims_and_succeeds_a_delivery_that_names_its_task() -> None:
    ledger = Ledger(hot_path=True)
    run = await ledger.service.enqueue(TASK)
    claim = await ledger.service.begin(run.id, TASK)
    assert claim.run is not None
    assert (claim.run.status, claim.run.attempts) == (JobStatus.RUNNING, 1)
    assert ledger.stored(run.id).lease_until == START + timedelta(seconds=POLICY.timeout_s)
    ledger.clock.advance(seconds=2)
    await ledger.service.succeed(run.id)
    stored = ledger.stored(run.id)
    assert stored.status is JobStatus.SUCCEEDED
    assert stored.finished_at == START + timedelta(seconds=2)


async def test_what_the_hot_path_cannot_settle_takes_the_per_run_path() -> None:
    ledger = Ledger(hot_path=True)
    run = await ledger.service.enqueue(TASK)
    await ledger.service.begin(run.id, TASK)
    busy = await ledger.service.begin(run.id, TASK)  # a live lease: told when to ask again
    assert busy == Claim(None, busy_until=START + timedelta(seconds=POLICY.timeout_s))
    await ledger.service.succeed(run.id)
    assert await ledger.service.begin(run.id, TASK) == Claim(None)  # finished: nothing to do
    with pytest.raises(InvalidState):
        await ledger.service.succeed(run.id)  # the per-run path says why it cannot
    assert ledger.stored(run.id).attempts == 1


# --- succeed / fail ----------------------------------------------------------------------------


async def test_succeed_records_the_finish(ledger: Ledger) -> None:
    run = await ledger.service.enqueue(TASK)
    await ledger.service.begin(run.id)
    ledger.clock.advance(seconds=4)
    await ledger.service.succeed(run.id)
    stored = ledger.stored(run.id)
    assert stored.status is JobStatus.SUCCEEDED
    assert stored.finished_at == START + timedelta(seconds=4)
    assert stored.lease_until is None


async def test_a_concurrent_change_is_a_conflict_not_a_lost_write(ledger: Ledger) -> None:
    run = await ledger.service.enqueue(TASK)
    await ledger.service.begin(run.id)

    def someone_else_writes(_: JobRun) -> None:
        ledger.store.runs[run.id].version += 1

    ledger.store.before_save = someone_else_writes
    with pytest.raises(Conflict) as caught:
        await ledger.service.succeed(run.id)
    assert caught.value.code == "job_changed"
    assert ledger.stored(run.id).status is JobStatus.RUNNING


async def test_finishing_a_missing_run_is_not_found(ledger: Ledger) -> None:
    with pytest.raises(NotFound) as caught:
        await ledger.service.succeed(uuid.uuid4())
    assert caught.value.code == "job_not_found"


async def test_fail_retries_with_growing_delays_then_dies(ledger: Ledger) -> None:
    run = await ledger.service.enqueue(TASK)
    ledger.queue.sent.clear()

    first = await ledger.run_once(run.id, "CRM timed out")
    assert first.status is JobStatus.FAILED
    assert first.next_attempt_at == START + timedelta(seconds=10)
    assert [(r.run_at, r.run_id, r.task) for r in ledger.store.run_at] == [
        (START + timedelta(seconds=10), run.id, TASK)
    ]
    assert ledger.stored(run.id).last_error == "CRM timed out"

    ledger.clock.advance(seconds=9)
    assert await ledger.service.release_due() == 0
    ledger.clock.advance(seconds=1)
    assert await ledger.service.release_due() == 1
    assert ledger.queue.sent == [(TASK, run.id)]

    second = await ledger.run_once(run.id)
    assert second.attempts == 2
    assert second.next_attempt_at == ledger.clock.now() + timedelta(seconds=20)
    ledger.clock.advance(seconds=20)
    assert await ledger.service.release_due() == 1

    third = await ledger.run_once(run.id)
    assert third.attempts == 3
    assert third.status is JobStatus.DEAD
    assert third.next_attempt_at is None
    assert ledger.store.run_at == []
    ledger.clock.advance(days=1)
    assert await ledger.service.release_due() == 0
    assert ledger.stored(run.id).status is JobStatus.DEAD


async def test_fail_jitters_the_delay_within_the_policy() -> None:
    policy = RetryPolicy(max_attempts=5, base_delay_s=100, jitter=0.2, timeout_s=60)
    ledger = Ledger({TASK: policy})
    run = await ledger.service.enqueue(TASK)
    failed = await ledger.run_once(run.id)
    assert failed.next_attempt_at is not None
    wait = failed.next_attempt_at - START
    assert timedelta(seconds=80) <= wait <= timedelta(seconds=120)


async def test_a_non_retryable_failure_is_dead_at_once(ledger: Ledger) -> None:
    run = await ledger.service.enqueue(TASK)
    await ledger.service.begin(run.id)
    failed = await ledger.service.fail(run.id, "lead does not exist", retryable=False)
    assert failed.status is JobStatus.DEAD
    assert failed.attempts == 1
    assert ledger.store.run_at == []


# --- retry -------------------------------------------------------------------------------------


async def test_retry_of_a_dead_run_queues_and_sends_it_again(ledger: Ledger) -> None:
    run = await ledger.service.enqueue(TASK)
    await ledger.service.begin(run.id)
    await ledger.service.fail(run.id, "bad", retryable=False)
    ledger.queue.sent.clear()

    retried = await ledger.service.retry(run.id)
    assert retried.status is JobStatus.QUEUED
    assert ledger.queue.sent == [(TASK, run.id)]
    stored = ledger.stored(run.id)
    assert stored.status is JobStatus.QUEUED
    assert stored.max_attempts == 1 + POLICY.max_attempts

    claim = await ledger.service.begin(run.id)
    assert claim.run is not None
    assert claim.run.attempts == 2


async def test_retry_from_a_process_that_does_not_declare_the_task(ledger: Ledger) -> None:
    run = await ledger.service.enqueue(TASK)
    await ledger.service.begin(run.id)
    await ledger.service.fail(run.id, "bad", retryable=False)
    ledger.store.runs[run.id].max_attempts = 5  # set by the worker's policy
    cli = JobService(
        lambda: FakePlatformUnitOfWork(ledger.store),
        ledger.queue,
        ledger.clock,
        {},
    )
    ledger.queue.sent.clear()
    retried = await cli.retry(run.id)
    assert retried.status is JobStatus.QUEUED
    assert ledger.stored(run.id).max_attempts == 1 + 5  # as many tries again as it had
    assert ledger.queue.sent == [(TASK, run.id)]


async def test_retry_of_a_waiting_run_runs_it_now(ledger: Ledger) -> None:
    run = await ledger.service.enqueue(TASK)
    await ledger.run_once(run.id)
    ledger.queue.sent.clear()
    retried = await ledger.service.retry(run.id)
    assert retried.status is JobStatus.QUEUED
    assert ledger.queue.sent == [(TASK, run.id)]


@pytest.mark.parametrize("finish", ["succeeded", "queued", "running"])
async def test_retry_of_a_run_that_is_not_dead_or_failed_is_a_conflict(
    ledger: Ledger, finish: str
) -> None:
    run = await ledger.service.enqueue(TASK)
    if finish != "queued":
        await ledger.service.begin(run.id)
    if finish == "succeeded":
        await ledger.service.succeed(run.id)
    ledger.queue.sent.clear()
    with pytest.raises(Conflict) as caught:
        await ledger.service.retry(run.id)
    assert caught.value.code == "job_not_retryable"
    assert finish in caught.value.detail
    assert ledger.queue.sent == []
    assert ledger.stored(run.id).status == finish


async def test_retry_of_a_missing_run_is_not_found(ledger: Ledger) -> None:
    with pytest.raises(NotFound) as caught:
        await ledger.service.retry(uuid.uuid4())
    assert caught.value.code == "job_not_found"


# --- reap_stuck --------------------------------------------------------------------------------


async def test_reap_stuck_fails_runs_whose_lease_lapsed(ledger: Ledger) -> None:
    lost = await ledger.service.enqueue(TASK)
    await ledger.service.begin(lost.id)
    ledger.clock.advance(seconds=30)
    alive = await ledger.service.enqueue(TASK)
    await ledger.service.begin(alive.id)

    ledger.clock.advance(seconds=POLICY.timeout_s - 29)  # lost lapsed 1 s ago, alive has 29 s
    assert await ledger.service.reap_stuck() == 1

    stored = ledger.stored(lost.id)
    assert stored.status is JobStatus.FAILED
    assert stored.last_error is not None and "lease" in stored.last_error
    assert stored.next_attempt_at == ledger.clock.now() + timedelta(seconds=10)
    assert ledger.stored(alive.id).status is JobStatus.RUNNING
    assert [row.run_id for row in ledger.store.run_at] == [lost.id]


async def test_reap_stuck_on_the_last_attempt_is_dead(ledger: Ledger) -> None:
    run = await ledger.service.enqueue(TASK)
    for _ in range(POLICY.max_attempts):
        await ledger.service.begin(run.id)
        ledger.clock.advance(seconds=POLICY.timeout_s + 1)
    assert await ledger.service.reap_stuck() == 1
    assert ledger.stored(run.id).status is JobStatus.DEAD
    assert await ledger.service.reap_stuck() == 0


async def test_reap_stuck_with_nothing_stuck(ledger: Ledger) -> None:
    await ledger.service.enqueue(TASK)
    assert await ledger.service.reap_stuck() == 0


# --- reads -------------------------------------------------------------------------------------


async def test_get_and_page(ledger: Ledger) -> None:
    a = await ledger.service.enqueue(TASK)
    b = await ledger.service.enqueue(TASK)
    await ledger.service.begin(b.id)
    assert (await ledger.service.get(a.id)).status is JobStatus.QUEUED
    page = await ledger.service.page(JobFilter(status=JobStatus.RUNNING), PageRequest())
    assert [r.id for r in page.items] == [b.id]
    assert page.total == 1
    with pytest.raises(NotFound):
        await ledger.service.get(uuid.uuid4())
