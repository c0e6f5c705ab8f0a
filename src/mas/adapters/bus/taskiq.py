"""taskiq brokers: in-memory (embedded: the server runs its own tasks) or NATS JetStream.

On JetStream the stream uses work-queue retention and one durable pull consumer. A message is
acknowledged after its task ran (taskiq's default ``when_saved``); while it runs, the worker
tells the server "in progress" so the effective ack wait is the task's own timeout, and a worker
that dies stops doing so: the message is redelivered after ``ack_wait``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncGenerator, Callable
from typing import Any

from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, RetentionPolicy, StreamConfig
from taskiq import AckableMessage, AsyncBroker, InMemoryBroker
from taskiq.kicker import AsyncKicker
from taskiq_nats import PullBasedJetStreamBroker

log = logging.getLogger("mas.broker")


class MasJetStreamBroker(PullBasedJetStreamBroker):
    def __init__(
        self,
        *args: Any,
        ack_wait_s: float,
        timeout_for: Callable[[str], float],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._ack_wait_s = ack_wait_s
        self._timeout_for = timeout_for

    async def listen(self) -> AsyncGenerator[AckableMessage, None]:
        while True:
            try:
                batch = await self.consumer.fetch(
                    batch=self.pull_consume_batch, timeout=self.pull_consume_timeout
                )
            except NatsTimeoutError:
                continue
            for message in batch:
                yield self._with_heartbeat(message)

    def _with_heartbeat(self, message: Any) -> AckableMessage:
        limit = self._ack_wait_s
        try:
            limit = max(limit, self._timeout_for(self.formatter.loads(message.data).task_name))
        except Exception:  # noqa: BLE001 - an undecodable message is taskiq's to report
            log.warning("broker.undecodable_message", extra={"subject": message.subject})
        beat = asyncio.create_task(self._heartbeat(message, limit))

        async def ack() -> None:
            beat.cancel()
            await message.ack()

        return AckableMessage(data=message.data, ack=ack)

    async def _heartbeat(self, message: Any, limit_s: float) -> None:
        interval = max(self._ack_wait_s / 3, 0.2)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit_s + self._ack_wait_s
        with contextlib.suppress(asyncio.CancelledError):
            while loop.time() < deadline:
                await asyncio.sleep(interval)
                await message.in_progress()


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
) -> AsyncBroker:
    if kind == "memory":
        return InMemoryBroker(await_inplace=inline)
    return MasJetStreamBroker(
        servers=nats_url,
        subject=subject,
        stream_name=stream,
        durable=f"{stream}_workers",
        stream_config=StreamConfig(
            name=stream, subjects=[subject], retention=RetentionPolicy.WORK_QUEUE
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


class TaskiqQueue:
    """``TaskQueue`` over a taskiq broker: a message carries only the run id."""

    def __init__(self, broker: AsyncBroker) -> None:
        self.broker = broker

    async def send(self, task: str, run_id: uuid.UUID) -> None:
        await AsyncKicker(task_name=task, broker=self.broker, labels={}).kiq(str(run_id))
