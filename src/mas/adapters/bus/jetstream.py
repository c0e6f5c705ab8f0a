"""The NATS JetStream taskiq broker (``mas.adapters.bus.taskiq.make_broker`` builds it).

Kept apart from the in-memory broker so that a process on ``MAS_BROKER=memory`` (``mas dev``,
every CLI command on the embedded default) never imports the NATS client (~20 ms of start-up).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncGenerator, Callable
from functools import partial
from typing import Any

from taskiq import AckableMessage
from taskiq_nats import PullBasedJetStreamBroker

log = logging.getLogger("mas.broker")


class _Held:
    """A delivery this worker holds: told "in progress" until acknowledged or past its limit."""

    __slots__ = ("message", "next_beat", "taken_at", "deadline")

    def __init__(self, message: Any, next_beat: float) -> None:
        self.message = message
        self.next_beat = next_beat
        self.taken_at: float | None = None  # when taskiq took it (its limit counts from there)
        self.deadline: float | None = None


class MasJetStreamBroker(PullBasedJetStreamBroker):
    """One keeper task beats for every held delivery; a short task never meets it.

    A delivery is held from the fetch (it may wait for a free slot) and for at most its task's
    timeout (or ``ack_wait``, whichever is longer) plus one ``ack_wait`` from when taskiq takes
    it; after that it is left to redelivery. The task name is read from the message only for a
    delivery that outlives ``ack_wait``.
    """

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
        self._beat_every = max(ack_wait_s / 3, 0.2)
        self._held: set[_Held] = set()
        self._keeper: asyncio.Task[None] | None = None

    async def listen(self) -> AsyncGenerator[AckableMessage, None]:
        loop = asyncio.get_running_loop()
        if self._keeper is None or self._keeper.done():
            self._keeper = asyncio.create_task(self._keep_in_progress())
        waiting: deque[_Held] = deque()
        try:
            while True:
                try:
                    batch = await self.consumer.fetch(
                        batch=self.pull_consume_batch, timeout=self.pull_consume_timeout
                    )
                except TimeoutError:  # nats' own, or asyncio's when a slow turn ate the window
                    continue
                first_beat = loop.time() + self._beat_every
                waiting.extend(_Held(message, first_beat) for message in batch)
                self._held.update(waiting)
                while waiting:
                    held = waiting.popleft()
                    held.taken_at = loop.time()
                    yield AckableMessage(data=held.message.data, ack=partial(self._ack, held))
        finally:
            # Fetched but never handed out: left to JetStream to redeliver.
            self._held.difference_update(waiting)

    async def _ack(self, held: _Held) -> None:
        self._held.discard(held)
        await held.message.ack()

    async def _keep_in_progress(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self._beat_every / 2)
            now = loop.time()
            for held in [h for h in self._held if h.next_beat <= now]:
                if held not in self._held:  # acknowledged meanwhile
                    continue
                if self._past_limit(held, now):
                    self._held.discard(held)  # left to redelivery
                    continue
                held.next_beat = now + self._beat_every
                try:
                    await held.message.in_progress()
                except Exception as exc:  # noqa: BLE001 - a lost beat means a redelivery at worst
                    log.warning("broker.in_progress_failed", extra={"error": repr(exc)[:200]})

    def _past_limit(self, held: _Held, now: float) -> bool:
        if held.taken_at is None or now <= held.taken_at + 2 * self._ack_wait_s:
            return False  # no limit is shorter than that
        if held.deadline is None:
            limit = max(self._ack_wait_s, self._limit_of(held.message))
            held.deadline = held.taken_at + limit + self._ack_wait_s
        return now > held.deadline

    def _limit_of(self, message: Any) -> float:
        try:
            return self._timeout_for(self.formatter.loads(message.data).task_name)
        except Exception:  # noqa: BLE001 - an undecodable message is taskiq's to report
            log.warning("broker.undecodable_message", extra={"subject": message.subject})
            return self._ack_wait_s

    async def shutdown(self) -> None:
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper
            self._keeper = None
        await super().shutdown()
