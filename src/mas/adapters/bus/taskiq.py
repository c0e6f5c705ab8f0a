"""taskiq brokers: in-memory (embedded: the server runs its own tasks) or NATS JetStream.

On JetStream the stream uses work-queue retention and one durable pull consumer. A message is
acknowledged after its task ran (taskiq's default ``when_saved``); while it runs, the worker
tells the server "in progress" so the effective ack wait is the task's own timeout, and a worker
that dies stops doing so: the message is redelivered after ``ack_wait``.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from taskiq import AsyncBroker, InMemoryBroker
from taskiq.kicker import AsyncKicker

from mas.adapters.telemetry.tracing import DeliveryLabels, outgoing_labels


def make_broker(
    *,
    kind: str,
    inline: bool = False,
    nats_url: str = "",
    stream: str = "MAS_TASKS",
    subject: str = "mas.tasks",
    ack_wait_s: float = 30.0,
    max_ack_pending: int = 1000,
    timeout_for: Callable[[str], float] = lambda _name: 300.0,
    connect_options: dict[str, Any] | None = None,
    replicas: int = 1,
) -> AsyncBroker:
    if kind == "memory":
        return InMemoryBroker(await_inplace=inline).with_middlewares(DeliveryLabels())
    from nats.js.api import AckPolicy, ConsumerConfig, RetentionPolicy, StreamConfig

    from mas.adapters.bus.jetstream import MasJetStreamBroker

    broker = MasJetStreamBroker(
        servers=nats_url,
        subject=subject,
        stream_name=stream,
        durable=f"{stream}_workers",
        stream_config=StreamConfig(
            name=stream,
            subjects=[subject],
            retention=RetentionPolicy.WORK_QUEUE,
            num_replicas=replicas,
        ),
        consumer_config=ConsumerConfig(
            durable_name=f"{stream}_workers",
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=ack_wait_s,
            max_ack_pending=max_ack_pending,
            max_deliver=-1,
        ),
        pull_consume_batch=100,
        pull_consume_timeout=1.0,
        ack_wait_s=ack_wait_s,
        timeout_for=timeout_for,
        **(connect_options or {}),
    )
    return broker.with_middlewares(DeliveryLabels())


_inline_pending: ContextVar[deque[tuple[str, dict[str, Any]]] | None] = ContextVar(
    "mas_inline_pending", default=None
)


class TaskiqQueue:
    """``TaskQueue`` over a taskiq broker: a ledger run's message carries only the run id, a
    ledger-less task's message its arguments.

    The in-memory broker kicks a task as an asyncio task of its own, or, when ``inline`` (the
    CLI), awaits it in place. A ledger-less task that sends its successor from inside its run (a
    workflow step queues the next step) would then nest one run inside the other, as deep as
    the chain is long; instead a send made while an inline run is in progress is queued, and
    the outermost send runs the queue to the end, one run after the other (a trampoline): the
    stack stays one run deep and the caller still returns only when the whole chain is done.
    """

    def __init__(self, broker: AsyncBroker) -> None:
        self.broker = broker
        self._inline = isinstance(broker, InMemoryBroker) and broker.await_inplace

    async def send(self, task: str, run_id: uuid.UUID) -> None:
        await AsyncKicker(task_name=task, broker=self.broker, labels=outgoing_labels()).kiq(
            str(run_id)
        )

    async def send_message(self, task: str, args: dict[str, Any]) -> None:
        if not self._inline:
            await AsyncKicker(task_name=task, broker=self.broker, labels=outgoing_labels()).kiq(
                args
            )
            return
        pending = _inline_pending.get()
        if pending is not None:
            pending.append((task, args))
            return
        pending = deque([(task, args)])
        token = _inline_pending.set(pending)
        try:
            while pending:
                name, payload = pending.popleft()
                await AsyncKicker(task_name=name, broker=self.broker, labels=outgoing_labels()).kiq(
                    payload
                )
        finally:
            _inline_pending.reset(token)
