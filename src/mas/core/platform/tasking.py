"""Background tasks as a domain declares them: a message Struct, a policy and a handler.

A domain lists its ``Task`` declarations (name, message type, policy, idempotency key) in
``core/<domain>/tasks.py`` and binds each to a ``Handler`` that receives the domain's services
and the decoded message. Services enqueue by declaration (``Enqueuer.submit``), so the task's
name, its argument shape and its key are written once. The runner (``mas.jobs``) decides
retries by exception type: ``PermanentFailure`` and a non-``Transient`` ``DomainError`` end the
run (``dead``); anything else is retried by the policy.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, Generic, TypeVar

import msgspec

from mas.core.platform.errors import DomainError, Transient
from mas.core.platform.job_model import RetryPolicy


class PermanentFailure(Exception):
    """Raised by a handler when retrying cannot help: the run goes straight to ``dead``."""


class NoArgs(msgspec.Struct, frozen=True):
    """The message of a task that needs none (crons, sweeps)."""


M = TypeVar("M", bound=msgspec.Struct)
S = TypeVar("S")
S_contra = TypeVar("S_contra", contravariant=True)

DEFAULT_QUEUE = "default"


class TaskPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """How a task is retried and how long one attempt may take."""

    attempts: int = 3
    backoff_s: float = 30.0
    max_backoff_s: float = 3600.0
    timeout_s: float = 300.0
    queue: str = DEFAULT_QUEUE

    def retry(self) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=self.attempts,
            base_delay_s=self.backoff_s,
            max_delay_s=self.max_backoff_s,
            timeout_s=self.timeout_s,
        )


@dataclass(frozen=True)
class Task(Generic[M]):
    """A task's declaration: ``<domain>.<action>``, its message and its policy.

    ``key`` turns a message into its idempotency key (two sends with one key are one run);
    without it every send is a run of its own unless the caller names a key.

    ``ledger=False``: the task keeps its own ledger (a business row with a version guard, like
    the workflow engine's enrollment), so no ``job_runs`` row is written. Its message carries
    the payload itself (``TaskQueue.send_message``); the runner decodes it, runs the handler
    under the policy's timeout and logs a failure. Nothing retries it but the redelivery of a
    message whose worker died before acknowledging it, and whatever the task's own ledger does:
    the handler must be idempotent and record its own failures.
    """

    name: str
    message: type[M]
    policy: TaskPolicy = field(default_factory=TaskPolicy)
    key: Callable[[M], str] | None = None
    ledger: bool = True

    def args(self, message: M) -> dict[str, Any]:
        """The message as the ledger stores it (plain JSON values)."""
        data: dict[str, Any] = msgspec.to_builtins(message)
        return data

    def decode(self, args: dict[str, Any]) -> M:
        """A stored run's arguments back into the message (a ``ValidationError`` if foreign)."""
        return msgspec.convert(args, type=self.message, strict=False)

    def key_of(self, message: M) -> str | None:
        return self.key(message) if self.key is not None else None


@dataclass(frozen=True)
class Handler(Generic[S, M]):
    """Binds a task to the code that runs it, given the domain's services ``S``.

    ``on_dead`` runs once when the last attempt failed (mark the business record failed).
    """

    task: Task[M]
    run: Callable[[S, M], Awaitable[None]]
    on_dead: Callable[[S, M], Awaitable[None]] | None = None

    @property
    def name(self) -> str:
        return self.task.name

    @property
    def summary(self) -> str:
        doc = (self.run.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""


def is_permanent(exc: BaseException) -> bool:
    """Whether retrying the run can help: the one rule the runner applies to a failure."""
    if isinstance(exc, PermanentFailure):
        return True
    return isinstance(exc, DomainError) and not isinstance(exc, Transient)


def lift_handlers(part: str, handlers: Sequence[Handler[Any, Any]]) -> list[Handler[Any, Any]]:
    """A domain split into parts (``comms.whatsapp``): each part's handlers take the part's
    services; the runner hands a handler the domain's, so each is lifted to pick ``part``."""
    return [
        Handler(
            h.task,
            _pick(part, h.run),
            on_dead=_pick(part, h.on_dead) if h.on_dead is not None else None,
        )
        for h in handlers
    ]


def _pick(part: str, run: Callable[[Any, Any], Awaitable[None]]) -> Callable[[Any, Any], Any]:
    @wraps(run)
    async def picked(services: Any, message: Any) -> None:
        await run(getattr(services, part), message)

    return picked
