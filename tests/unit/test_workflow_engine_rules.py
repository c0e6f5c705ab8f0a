"""The engine's pure rules and the platform pieces it added: the retry schedule, ledger-less
tasks in the runner, the inline broker's trampoline, and the domains' due-time releasers."""

from __future__ import annotations

import asyncio
import logging
import sys
import uuid
from datetime import timedelta
from typing import Any

import msgspec
import pytest
from taskiq import InMemoryBroker

from mas.adapters.bus.taskiq import TaskiqQueue
from mas.adapters.fakes.platform import FakeAiCaller, FakeTaskQueue
from mas.core.platform.errors import ExternalUnavailable, NotFound
from mas.core.platform.ports.ai_calls import AiCallOutcome
from mas.core.platform.tasking import Handler, Task, TaskPolicy
from mas.core.workflow.runs.engine import classify
from mas.core.workflow.runs.model import ATTEMPTS, StepRef, retry_delay
from mas.jobs import scheduler
from mas.jobs.runner import run_message
from mas.modules.container import BoundHandler


def test_three_attempts_a_round_one_then_five_minutes_apart() -> None:
    assert ATTEMPTS == 3
    assert [retry_delay(n) for n in (1, 2, 3)] == [
        timedelta(minutes=1),
        timedelta(minutes=5),
        None,
    ]
    # An admin retry starts a new round: attempts 4, 5, 6.
    assert [retry_delay(n) for n in (4, 5, 6)] == [
        timedelta(minutes=1),
        timedelta(minutes=5),
        None,
    ]


def test_failures_are_transient_permanent_or_not_the_nodes() -> None:
    assert classify(ExternalUnavailable("down")) is True
    assert classify(TimeoutError()) is True
    assert classify(NotFound("no template")) is False
    assert classify(RuntimeError("a bug")) is None


class Probe(msgspec.Struct, frozen=True):
    n: int


async def test_a_ledger_less_task_runs_from_its_payload_and_logs_failures(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[int] = []

    async def run(services: Any, message: Probe) -> None:
        if message.n < 0:
            raise RuntimeError("boom")
        seen.append(message.n)

    task = Task("probe.step", Probe, TaskPolicy(timeout_s=5), ledger=False)
    bound = BoundHandler(Handler(task, run), services=None)

    await run_message(bound, {"n": 3})
    with caplog.at_level(logging.WARNING, logger="mas.jobs"):
        await run_message(bound, {"n": "not a number"})
        await run_message(bound, {"n": -1})

    assert seen == [3]
    assert [r.msg for r in caplog.records] == ["job.bad_message", "job.error"]


def _stack_depth() -> int:
    frame, depth = sys._getframe(), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1  # type: ignore[assignment]
    return depth


async def test_the_inline_broker_runs_a_chain_of_sends_one_after_the_other() -> None:
    """A chain 500 long would overflow the stack if each send ran the next in place."""
    broker = InMemoryBroker(await_inplace=True)
    queue = TaskiqQueue(broker)
    order: list[int] = []
    depth: list[int] = []

    async def step(payload: dict[str, Any]) -> None:
        n = payload["n"]
        order.append(n)
        depth.append(_stack_depth())
        if n < 500:
            await queue.send_message("chain", {"n": n + 1})

    broker.register_task(step, task_name="chain")
    await broker.startup()
    await queue.send_message("chain", {"n": 1})
    await broker.shutdown()

    assert order == list(range(1, 501))
    assert max(depth) == min(depth)


async def test_the_fake_queue_keeps_ledger_less_messages() -> None:
    queue = FakeTaskQueue()
    ref = StepRef(uuid.uuid4(), "n1", 2)
    await queue.send_message("workflow.step", msgspec.to_builtins(ref))
    assert queue.take_messages("workflow.step") == [msgspec.to_builtins(ref)]
    assert queue.messages == []


async def test_the_fake_ai_caller_is_idempotent_on_its_key() -> None:
    caller = FakeAiCaller()
    lead = uuid.uuid4()
    first = await caller.place_call(
        lead_id=lead, phone_e164="+919900000001", agent_ref="a", variables={}, idempotency_key="k"
    )
    again = await caller.place_call(
        lead_id=lead, phone_e164="+919900000001", agent_ref="a", variables={}, idempotency_key="k"
    )
    assert first == again and len(caller.calls) == 1
    event = caller.complete(first.call_id, "INTERESTED")
    assert event.outcome is AiCallOutcome.INTERESTED
    assert await caller.fetch_outcome(first.call_id) is AiCallOutcome.INTERESTED


async def test_a_releaser_that_fills_its_batch_is_called_again_at_once() -> None:
    calls: list[int] = []
    backlog = [scheduler.RELEASE_FULL, scheduler.RELEASE_FULL, 3, scheduler.RELEASE_FULL]

    async def release() -> int:
        calls.append(1)
        return backlog.pop(0)

    await scheduler._release_domain(release, asyncio.Event())
    assert len(calls) == 3  # two full batches, then a partial one ends the turn
