"""A worker SIGKILLed between a workflow send and its commit: after redelivery, exactly one
message (real NATS JetStream, real PostgreSQL, real ``mas worker`` processes).

The test holds ``LOCK TABLE workflow_node_runs IN EXCLUSIVE MODE`` in a transaction of its
own. The first worker claims the due enrollment, runs its ``send_email`` node (the messenger's
outbox row is written in the step's transaction) and then blocks on the step's record (the
node run's INSERT): it is between the send and the commit when it is killed. Its transaction
never commits, its ``workflow.step`` message is never acknowledged; JetStream hands it to the
second worker after ``ack_wait``, which finds the enrollment still at the same node and
lock_version, sends, and commits once.
"""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from mas.core.workflow.model import EnrollmentStatus
from tests.nats.conftest import Processes, wait_for
from tests.workflow_world import World, line

pytestmark = pytest.mark.nats


async def test_a_worker_killed_between_send_and_commit_leaves_one_message(
    stack_env: dict[str, str], producer: Any, procs: Processes
) -> None:
    world = World(producer)
    await world.mail_template()
    enrollment_id, _ = await world.start(
        line(("mail", "send_email", {"template_key": "nurture.hello"})), "mail"
    )
    engine = create_async_engine(stack_env["MAS_DATABASE_URL"])
    holder = await engine.connect()
    try:
        await holder.execute(text("LOCK TABLE workflow_node_runs IN EXCLUSIVE MODE"))
        doomed = procs.worker("doomed")

        async def blocked_in_the_step() -> bool:
            async with engine.connect() as conn:
                waiting = await conn.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND query ILIKE '%workflow_enrollments%'"
                    )
                )
            return bool(waiting)

        await wait_for(blocked_in_the_step, timeout=60, what="the step to block before commit")
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait()
    finally:
        await holder.rollback()
        await holder.close()
    assert await world.emails(enrollment_id) == []  # the send died with its transaction

    procs.worker("survivor")

    async def completed() -> bool:
        enrollment = await world.enrollment(enrollment_id)
        return enrollment.status is EnrollmentStatus.COMPLETED

    await wait_for(completed, timeout=90, what="the redelivered step to complete")
    await asyncio.sleep(1.0)  # a second delivery, if there were one, would land now
    assert await world.emails(enrollment_id) == [f"wf:{enrollment_id}:mail:1"]
    runs = await world.runs(enrollment_id)
    assert [(r.node_id, r.attempt, r.status.value) for r in runs] == [("mail", 1, "SUCCEEDED")]
    enrollment = await world.enrollment(enrollment_id)
    assert enrollment.lock_version == 1
    await engine.dispose()
