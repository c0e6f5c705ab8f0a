"""Job runs: the state table, attempt counting, leases, and the retry backoff."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from mas.core.platform.errors import InvalidState
from mas.core.platform.job_model import (
    TERMINAL,
    TRANSITIONS,
    JobRun,
    JobStatus,
    RetryPolicy,
    check_transition,
)

NOW = datetime(2025, 1, 15, 9, 0, tzinfo=UTC)

LEGAL = [(src, dst) for src, targets in TRANSITIONS.items() for dst in targets]
ILLEGAL = [(src, dst) for src in JobStatus for dst in JobStatus if dst not in TRANSITIONS[src]]


def make_run(
    status: JobStatus = JobStatus.QUEUED, *, attempts: int = 0, max_attempts: int = 3
) -> JobRun:
    return JobRun(
        id=uuid.uuid4(),
        task="crm.assign_leads",
        idempotency_key="k1",
        status=status,
        args={},
        attempts=attempts,
        max_attempts=max_attempts,
        enqueued_at=NOW,
    )


# --- the state table ---------------------------------------------------------------------------


def test_every_status_has_a_row_in_the_table() -> None:
    assert set(TRANSITIONS) == set(JobStatus)


def test_finished_runs_never_move_again() -> None:
    assert TRANSITIONS[JobStatus.SUCCEEDED] == frozenset()
    assert TRANSITIONS[JobStatus.SKIPPED] == frozenset()
    assert TERMINAL == {JobStatus.SUCCEEDED, JobStatus.DEAD, JobStatus.SKIPPED}


@pytest.mark.parametrize(("current", "target"), LEGAL)
def test_legal_transitions_pass(current: JobStatus, target: JobStatus) -> None:
    check_transition(current, target)


@pytest.mark.parametrize(("current", "target"), ILLEGAL)
def test_illegal_transition_names_both_states(current: JobStatus, target: JobStatus) -> None:
    with pytest.raises(InvalidState) as caught:
        check_transition(current, target)
    message = str(caught.value)
    assert f"'{current.value}'" in message
    assert f"'{target.value}'" in message
    assert message.startswith("job run")
    assert (caught.value.current, caught.value.target) == (current.value, target.value)


def test_the_table_is_the_documented_one() -> None:
    # Also guards the parametrised tests above against an empty list silently passing.
    q, r, s, f, d = (
        JobStatus.QUEUED,
        JobStatus.RUNNING,
        JobStatus.SUCCEEDED,
        JobStatus.FAILED,
        JobStatus.DEAD,
    )
    assert sorted(LEGAL) == sorted([(q, r), (r, r), (r, s), (r, f), (r, d), (f, r), (f, q), (d, q)])
    assert len(ILLEGAL) == len(JobStatus) ** 2 - 8


# --- JobRun ------------------------------------------------------------------------------------


def test_start_counts_an_attempt_and_takes_a_lease() -> None:
    run = make_run()
    run.start(NOW, timeout_s=90)
    assert run.status is JobStatus.RUNNING
    assert run.attempts == 1
    assert run.started_at == NOW
    assert run.lease_until == NOW + timedelta(seconds=90)


def test_start_clears_the_previous_attempts_finish_and_next_time() -> None:
    run = make_run(JobStatus.FAILED, attempts=1)
    run.finished_at = NOW - timedelta(minutes=1)
    run.next_attempt_at = NOW
    later = NOW + timedelta(seconds=5)
    run.start(later, timeout_s=10)
    assert run.attempts == 2
    assert run.finished_at is None
    assert run.next_attempt_at is None
    assert run.lease_until == later + timedelta(seconds=10)


def test_a_run_that_lost_its_worker_can_be_started_again() -> None:
    run = make_run()
    run.start(NOW, timeout_s=30)
    run.start(NOW + timedelta(seconds=31), timeout_s=30)
    assert run.attempts == 2


def test_a_finished_run_cannot_start() -> None:
    run = make_run(JobStatus.SUCCEEDED, attempts=1)
    with pytest.raises(InvalidState, match="'succeeded' to 'running'"):
        run.start(NOW, timeout_s=30)
    assert run.attempts == 1


def test_succeed_releases_the_lease_and_clears_the_error() -> None:
    run = make_run()
    run.start(NOW, timeout_s=30)
    run.last_error = "boom"
    run.succeed(NOW + timedelta(seconds=3))
    assert run.status is JobStatus.SUCCEEDED
    assert run.finished_at == NOW + timedelta(seconds=3)
    assert run.lease_until is None
    assert run.last_error is None


def test_succeed_needs_a_running_run() -> None:
    with pytest.raises(InvalidState, match="'queued' to 'succeeded'"):
        make_run().succeed(NOW)


def test_fail_with_attempts_left_waits_for_the_next_one() -> None:
    run = make_run(max_attempts=3)
    run.start(NOW, timeout_s=30)
    retry_at = NOW + timedelta(minutes=1)
    run.fail(NOW, "timeout talking to CRM", retry_at)
    assert run.status is JobStatus.FAILED
    assert run.next_attempt_at == retry_at
    assert run.last_error == "timeout talking to CRM"
    assert run.finished_at == NOW
    assert run.lease_until is None


def test_fail_on_the_last_attempt_is_dead() -> None:
    run = make_run(attempts=2, max_attempts=3)
    run.start(NOW, timeout_s=30)
    run.fail(NOW, "boom", NOW + timedelta(minutes=1))
    assert run.status is JobStatus.DEAD
    assert run.next_attempt_at is None


def test_fail_without_a_next_time_is_dead_even_with_attempts_left() -> None:
    run = make_run(max_attempts=5)
    run.start(NOW, timeout_s=30)
    run.fail(NOW, "bad input", None)
    assert run.status is JobStatus.DEAD
    assert run.attempts == 1


def test_fail_keeps_at_most_2000_characters_of_the_error() -> None:
    run = make_run()
    run.start(NOW, timeout_s=30)
    run.fail(NOW, "x" * 5000, None)
    assert run.last_error == "x" * 2000


def test_fail_needs_a_running_run() -> None:
    run = make_run(JobStatus.QUEUED)
    with pytest.raises(InvalidState, match="'queued' to 'failed'"):
        run.fail(NOW, "boom", NOW + timedelta(minutes=1))
    assert run.status is JobStatus.QUEUED


def test_requeue_gives_extra_attempts_on_top_of_those_used() -> None:
    run = make_run(attempts=3, max_attempts=3)
    run.start(NOW, timeout_s=30)  # attempt 4 after a lost worker, then dead
    run.fail(NOW, "boom", None)
    run.requeue(extra_attempts=2)
    assert run.status is JobStatus.QUEUED
    assert run.max_attempts == run.attempts + 2 == 6
    assert run.finished_at is None
    assert run.next_attempt_at is None


def test_requeue_of_a_waiting_run_drops_its_next_time() -> None:
    run = make_run()
    run.start(NOW, timeout_s=30)
    run.fail(NOW, "boom", NOW + timedelta(minutes=5))
    run.requeue(extra_attempts=3)
    assert run.status is JobStatus.QUEUED
    assert run.next_attempt_at is None
    assert run.max_attempts == 4


@pytest.mark.parametrize("status", [JobStatus.SUCCEEDED, JobStatus.SKIPPED, JobStatus.RUNNING])
def test_requeue_refuses_runs_that_are_not_dead_or_failed(status: JobStatus) -> None:
    run = make_run(status, attempts=1)
    with pytest.raises(InvalidState, match=f"'{status.value}' to 'queued'"):
        run.requeue(extra_attempts=3)
    assert run.max_attempts == 3


def test_holds_lease_only_while_running_and_before_the_deadline() -> None:
    run = make_run()
    assert not run.holds_lease(NOW)  # queued
    run.start(NOW, timeout_s=60)
    assert run.holds_lease(NOW + timedelta(seconds=59))
    assert not run.holds_lease(NOW + timedelta(seconds=60))  # the deadline itself has lapsed
    run.succeed(NOW + timedelta(seconds=1))
    assert not run.holds_lease(NOW)


def test_holds_lease_is_false_for_a_running_row_without_a_lease() -> None:
    run = make_run(JobStatus.RUNNING, attempts=1)
    assert run.lease_until is None
    assert not run.holds_lease(NOW)


# --- RetryPolicy -------------------------------------------------------------------------------


def test_delay_doubles_per_attempt_from_the_base() -> None:
    policy = RetryPolicy(base_delay_s=10, max_delay_s=10_000, jitter=0)
    delays = [policy.delay_after(n).total_seconds() for n in range(1, 6)]
    assert delays == [10, 20, 40, 80, 160]


def test_delay_is_capped_at_the_maximum() -> None:
    policy = RetryPolicy(base_delay_s=30, max_delay_s=100, jitter=0)
    assert policy.delay_after(3) == timedelta(seconds=100)
    assert policy.delay_after(50) == timedelta(seconds=100)


def test_attempt_zero_waits_the_base_delay() -> None:
    policy = RetryPolicy(base_delay_s=7, jitter=0)
    assert policy.delay_after(0) == timedelta(seconds=7)


def test_delay_grows_monotonically_without_jitter() -> None:
    policy = RetryPolicy(base_delay_s=1.5, max_delay_s=600, jitter=0)
    delays = [policy.delay_after(n) for n in range(1, 20)]
    assert all(a <= b for a, b in zip(delays, delays[1:], strict=False))
    assert delays[0] < delays[-1] == timedelta(seconds=600)


@pytest.mark.parametrize("attempt", [1, 2, 3, 8, 20])
def test_jitter_stays_within_its_fraction(attempt: int) -> None:
    policy = RetryPolicy(base_delay_s=30, max_delay_s=3600, jitter=0.2)
    raw = min(30 * 2 ** (attempt - 1), 3600)
    rng = random.Random(1234)
    seen = {policy.delay_after(attempt, rng).total_seconds() for _ in range(300)}
    assert all(raw * 0.8 <= s <= raw * 1.2 for s in seen)
    assert len(seen) > 100  # it does vary
    assert min(seen) < raw < max(seen)  # on both sides


def test_jitter_is_reproducible_with_a_seeded_rng() -> None:
    policy = RetryPolicy()
    first = [policy.delay_after(2, random.Random(7)) for _ in range(3)]
    assert len(set(first)) == 1
    assert first[0] != policy.delay_after(2, random.Random(8))


def test_jitter_without_an_rng_still_stays_in_range() -> None:
    policy = RetryPolicy(base_delay_s=100, jitter=0.5)
    for _ in range(50):
        assert timedelta(seconds=50) <= policy.delay_after(1) <= timedelta(seconds=150)


def test_delay_is_never_negative() -> None:
    policy = RetryPolicy(base_delay_s=10, jitter=3.0)  # a silly jitter may roll below zero
    rng = random.Random(0)
    assert min(policy.delay_after(1, rng) for _ in range(200)) == timedelta(0)


def test_default_policy() -> None:
    policy = RetryPolicy()
    assert (policy.max_attempts, policy.timeout_s) == (3, 300.0)
    assert RetryPolicy(jitter=0).delay_after(1) == timedelta(seconds=30)
