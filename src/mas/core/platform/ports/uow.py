"""The unit of work: one transaction per use case; rolls back unless committed.

The unit itself is generic: session, commit, rollback, recorded events and outgoing messages
(rows in the same transaction, handed to the relay after a successful commit). Repositories are
declared per domain: each domain's core types its own view of the unit (``IdentityUnitOfWork``,
``CrmUnitOfWork``, ``PlatformUnitOfWork`` below) listing only the repositories it uses, and the
adapter builds a repository on its first use in a transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar

from mas.core.platform.events import DomainEvent
from mas.core.platform.job_model import JobFilter, JobRun
from mas.core.platform.messages import OutboxMessage, OutboxStatus
from mas.core.platform.paging import Page, PageRequest


class DuplicateKey(Exception):
    """A unique constraint refused the write (raised by repositories, caught by services)."""


class JobRunRepository(Protocol):
    async def add(self, run: JobRun) -> None:
        """Insert; raises ``DuplicateKey`` when an active run has the same (task, key)."""
        ...

    async def get(self, run_id: uuid.UUID) -> JobRun | None: ...

    async def find_active(self, task: str, key: str) -> JobRun | None:
        """The run (not a skipped duplicate) holding ``key`` for ``task``."""
        ...

    async def save(self, run: JobRun) -> bool:
        """Write ``run`` if nobody changed it since it was read (its version); bump the version."""
        ...

    async def page(self, flt: JobFilter, req: PageRequest) -> Page[JobRun]: ...

    async def schedule(self, run_id: uuid.UUID, task: str, run_at: datetime) -> None:
        """Add a one-shot "run at" row for a run (a retry or delayed work)."""
        ...

    async def claim_due(
        self, now: datetime, limit: int, hold_s: float = 60.0
    ) -> list[tuple[uuid.UUID, uuid.UUID, str]]:
        """Claim due "run at" rows for ``hold_s`` (SKIP LOCKED where the engine has it).

        Returns (claim id, run id, task). Rows claimed by a releaser that died become due again
        when the hold lapses.
        """
        ...

    async def release_claimed(self, claim_ids: list[uuid.UUID]) -> None:
        """Delete claimed rows once their runs were sent."""
        ...

    async def stale_queued(self, before: datetime, limit: int) -> list[JobRun]:
        """Runs still queued since before ``before`` with no "run at" row: their delivery was
        lost (a broker outage at send time, or a worker whose database call failed)."""
        ...

    async def stale_running(self, now: datetime, limit: int) -> list[JobRun]:
        """Running runs whose lease has lapsed: their worker is gone."""
        ...


class JobRunClaims(Protocol):
    """The ledger's hot path: claim a delivery, record its success; each committed on return.

    An adapter may share one statement and one commit among concurrent callers. The time of a
    claim or a success is the adapter's clock. Either call answers "not done" when the run is not
    in a state it applies to; the service then takes the per-run path, which tells why.
    """

    async def claim(self, run_id: uuid.UUID, timeout_s: float) -> JobRun | None:
        """Claim the run if a delivery may (``CLAIMABLE``, or running with a lapsed lease).

        The claim is ``JobRun.start`` with the lease ``lease_expiry(now, timeout_s)``; returns
        the claimed run, or None when it was not claimable (or is missing).
        """
        ...

    async def succeed(self, run_id: uuid.UUID) -> bool:
        """Mark the run succeeded if it is in ``SUCCEEDS_FROM``; False when it is not."""
        ...


class OutboxRepository(Protocol):
    async def add_message(self, message: OutboxMessage) -> uuid.UUID:
        """Insert ``message``; the id of the row kept. When its ``idempotency_key`` is already
        taken nothing is written and the existing row's id is returned (never a ``DuplicateKey``
        that would abort the caller's transaction; a concurrent writer of the same key waits
        for the other transaction and then finds its row)."""
        ...

    async def get_message(self, message_id: uuid.UUID) -> OutboxMessage | None: ...

    async def save_message(self, message: OutboxMessage) -> None: ...

    async def messages(
        self, status: OutboxStatus | None, recipient: str | None, req: PageRequest
    ) -> Page[OutboxMessage]: ...

    async def unsent_messages(
        self, statuses: list[OutboxStatus], limit: int
    ) -> list[tuple[uuid.UUID, OutboxStatus]]: ...

    async def add_event(
        self, event_id: uuid.UUID, subject: str, payload: dict[str, Any]
    ) -> None: ...

    async def claim_unpublished_events(
        self, limit: int, ids: list[uuid.UUID] | None = None
    ) -> list[tuple[uuid.UUID, str, dict[str, Any]]]: ...

    async def mark_published(self, event_ids: list[uuid.UUID], now: datetime) -> None: ...


class LeaseRepository(Protocol):
    async def acquire(self, name: str, holder: str, now: datetime, ttl_s: float) -> bool:
        """Take or renew the lease ``name`` for ``holder``; False when someone else holds it."""
        ...

    async def release(self, name: str, holder: str) -> None:
        """Let the lease lapse now if ``holder`` has it; its watermark stays for the next."""
        ...

    async def watermark(self, name: str) -> datetime | None:
        """How far the holders of ``name`` have done their work (the scheduler: every cron tick
        up to this time has fired); None before anyone recorded it."""
        ...

    async def set_watermark(self, name: str, holder: str, until: datetime) -> bool:
        """Record ``until`` as the watermark while ``holder`` has the lease; False otherwise."""
        ...


class UnitOfWork(Protocol):
    """What every domain's unit of work has; a domain's protocol adds its repositories."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...

    def record(self, event: DomainEvent) -> None:
        """Write ``event`` to the outbox in this transaction; it is published after commit."""
        ...

    async def send(self, message: OutboxMessage) -> uuid.UUID:
        """Write ``message`` to the outbox in this transaction; it is delivered after commit.

        Returns the id of the row kept: ``message.id``, or, when ``message.idempotency_key``
        was used before, the existing row's id (nothing is written nor delivered again)."""
        ...


class PlatformUnitOfWork(UnitOfWork, Protocol):
    """The platform's repositories: the job ledger, the outbox, leases."""

    jobs: JobRunRepository
    outbox: OutboxRepository
    leases: LeaseRepository


U = TypeVar("U", bound=UnitOfWork, covariant=True)


class UnitOfWorkFactory(Protocol[U]):
    """Opens a new unit of work (``async with factory() as uow``)."""

    def __call__(self) -> U: ...
