"""Through real NATS JetStream: tasks sent by this process run in ``mas worker`` processes."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from mas.core.platform.job_model import JobFilter, JobStatus
from mas.core.platform.paging import PageRequest
from tests.nats.conftest import Processes, wait_for

pytestmark = pytest.mark.nats


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


async def status_of(producer: Any, run_id: Any) -> JobStatus:
    return (await producer.jobs.get(run_id)).status  # type: ignore[no-any-return]


async def test_a_task_sent_here_runs_in_a_worker_process(
    producer: Any, procs: Processes, tmp_path: Path
) -> None:
    procs.worker()
    out = tmp_path / "out.txt"
    run = await producer.jobs.enqueue("probe.record", {"path": str(out)})

    async def done() -> bool:
        return await status_of(producer, run.id) is JobStatus.SUCCEEDED

    await wait_for(done, what="the worker to run the task")
    assert len(lines(out)) == 1
    assert (await producer.jobs.get(run.id)).attempts == 1


async def test_the_same_key_twice_runs_once(
    producer: Any, procs: Processes, tmp_path: Path
) -> None:
    procs.worker()
    out = tmp_path / "out.txt"
    first = await producer.jobs.enqueue("probe.record", {"path": str(out)}, key="once")
    second = await producer.jobs.enqueue("probe.record", {"path": str(out)}, key="once")
    assert second.status is JobStatus.SKIPPED

    async def done() -> bool:
        return await status_of(producer, first.id) is JobStatus.SUCCEEDED

    await wait_for(done, what="the first run")
    await asyncio.sleep(0.5)
    assert len(lines(out)) == 1
    page = await producer.jobs.page(JobFilter(task="probe.record"), PageRequest(1, 10))
    assert sorted(r.status.value for r in page.items) == ["skipped", "succeeded"]


async def test_a_failing_task_backs_off_dies_and_runs_again_on_retry(
    producer: Any, procs: Processes, tmp_path: Path
) -> None:
    procs.worker()
    out = tmp_path / "attempts.txt"
    run = await producer.jobs.enqueue("probe.fail", {"path": str(out)})

    async def dead() -> bool:
        return await status_of(producer, run.id) is JobStatus.DEAD

    await wait_for(dead, what="the run to die")
    times = [float(line) for line in lines(out)]
    assert len(times) == 3
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert 0.3 < gaps[0] < gaps[1], f"delays must grow: {gaps}"
    failed = await producer.jobs.get(run.id)
    assert failed.attempts == 3 and "probe failure" in (failed.last_error or "")

    listed = procs.cli("jobs", "list", "--status", "dead", "--json")
    assert listed.returncode == 0, listed.stderr
    assert str(run.id) in listed.stdout

    retried = procs.cli("jobs", "retry", str(run.id))
    assert retried.returncode == 0, retried.stderr

    async def ran_again() -> bool:
        return len(lines(out)) >= 4

    await wait_for(ran_again, what="the retried run")
    assert procs.cli("jobs", "retry", "not-an-id").returncode == 2


async def test_a_worker_killed_mid_task_leaves_it_to_be_finished_exactly_once(
    producer: Any, procs: Processes, tmp_path: Path
) -> None:
    doomed = procs.worker("doomed")
    out = tmp_path / "out.txt"
    run = await producer.jobs.enqueue("probe.record", {"path": str(out), "sleep_s": 2.5})

    async def running() -> bool:
        return await status_of(producer, run.id) is JobStatus.RUNNING

    await wait_for(running, what="the first worker to start the task")
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.wait()
    killed_at = time.monotonic()
    procs.worker("survivor")

    async def done() -> bool:
        return await status_of(producer, run.id) is JobStatus.SUCCEEDED

    await wait_for(done, timeout=40, what="redelivery to the surviving worker")
    await asyncio.sleep(1.0)
    finished = await producer.jobs.get(run.id)
    assert len(lines(out)) == 1, "the body completed exactly once"
    assert finished.attempts == 2
    assert time.monotonic() - killed_at < 40
