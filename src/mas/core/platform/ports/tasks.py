"""The task queue as core sees it: send a run to the workers, or enqueue a new run."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any, Protocol, TypeVar

import msgspec

from mas.core.platform.tasking import Task

M = TypeVar("M", bound=msgspec.Struct)


class TaskQueue(Protocol):
    async def send(self, task: str, run_id: uuid.UUID) -> None:
        """Put one delivery of ``run_id`` on the queue for ``task``."""
        ...

    async def send_message(self, task: str, args: dict[str, Any]) -> None:
        """Put one delivery of a ledger-less task (``Task.ledger=False``) on the queue: the
        message carries ``args`` itself (plain JSON values of the task's message Struct)."""
        ...


class Enqueuer(Protocol):
    async def enqueue(
        self,
        task: str,
        args: dict[str, Any] | None = None,
        *,
        key: str | None = None,
        delay: timedelta | None = None,
    ) -> Any:
        """Record a run in the job ledger and send it (idempotent on ``key``)."""
        ...

    async def submit(
        self,
        task: Task[M],
        message: M,
        *,
        key: str | None = None,
        delay: timedelta | None = None,
    ) -> Any:
        """Enqueue ``message`` for ``task``; the key defaults to the task's key of the message."""
        ...
