"""In-memory stand-ins for the platform's ports: clock, queue, bus, mail, ledger, outbox, leases.

Each fake keeps state and answers as its real adapter does (the ledger's unique (task, key)
index and version check, the outbox's orderings, a lease's single holder), so a unit test of a
service exercises the service's rules, not a mock's script. Where a test needs an outage, the
fake fails on demand (``down``, ``error``).

``PlatformStore`` is the committed state a database would hold; every ``FakePlatformUnitOfWork``
over it writes straight into it and, unless committed, puts back what it changed on exit. That
is one connection's view: the units of a test run one after another, as the services here use
them. ``mypy`` checks each fake against its port (see the end of the module).
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

import msgspec

from mas.adapters.bus.memory import InProcessBus
from mas.core.platform.events import DomainEvent
from mas.core.platform.ids import uuid7
from mas.core.platform.job_model import (
    CLAIMABLE,
    SUCCEEDS_FROM,
    JobFilter,
    JobRun,
    JobStatus,
    RetryPolicy,
)
from mas.core.platform.messages import OutboxMessage, OutboxStatus
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.ai_calls import AiCallCompleted, AiCallHandle, AiCallOutcome
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.mail import Envelope, TransportError
from mas.core.platform.ports.uow import (
    DuplicateKey,
    JobRunRepository,
    LeaseRepository,
    OutboxRepository,
)
from mas.core.platform.tasking import Task

M = TypeVar("M", bound=msgspec.Struct)
AfterCommit = Callable[[list[uuid.UUID], list[uuid.UUID]], Awaitable[None]]

DEFAULT_START = datetime(2025, 1, 1, tzinfo=UTC)
LAPSED = datetime(1970, 1, 1, tzinfo=UTC)
"""The expiry a released lease is given: anyone may take it, its watermark stays."""


def _no_write_hook() -> None:
    """Repositories used outside a unit of work have nothing to put back."""


# --- outside systems ----------------------------------------------------------------------------


class FakeClock:
    """The ``Clock`` port and, called, the epoch-seconds clock that caches and rate limits take.

    Time stands still until the test moves it (``advance``, ``set``).
    """

    def __init__(self, start: datetime | float = DEFAULT_START) -> None:
        self._seconds = 0.0
        self.set(start)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._seconds, UTC)

    def __call__(self) -> float:
        return self._seconds

    def timestamp(self) -> float:
        return self._seconds

    def set(self, when: datetime | float) -> None:
        self._seconds = when.timestamp() if isinstance(when, datetime) else float(when)

    def advance(self, **kwargs: float) -> None:
        """Move on by ``timedelta(**kwargs)``: ``advance(seconds=9.9)``, ``advance(days=1)``."""
        self._seconds += timedelta(**kwargs).total_seconds()


class QueueDown(ConnectionError):
    """What a fake queue or enqueuer raises while ``down``: the broker is unreachable."""


class FakeTaskQueue:
    """``TaskQueue``: keeps every (task, run id) sent and every ledger-less message (task,
    args) in ``messages``; refuses while ``down``."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, uuid.UUID]] = []
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self.down = False

    async def send(self, task: str, run_id: uuid.UUID) -> None:
        if self.down:
            raise QueueDown(task)
        self.sent.append((task, run_id))

    async def send_message(self, task: str, args: dict[str, Any]) -> None:
        if self.down:
            raise QueueDown(task)
        self.messages.append((task, args))

    def take_messages(self, task: str | None = None) -> list[dict[str, Any]]:
        """Remove and return the messages sent (for ``task`` only, when given)."""
        taken = [args for name, args in self.messages if task is None or name == task]
        self.messages = [m for m in self.messages if task is not None and m[0] != task]
        return taken


class FakeEnqueuer:
    """``Enqueuer``: records each call as (task name, args, key) and answers like the ledger.

    A key already held gives a ``skipped`` run pointing at its holder; a delayed call is also
    listed in ``delayed``. While ``down`` every call raises ``QueueDown``.
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock: Clock = clock or FakeClock()
        self.enqueued: list[tuple[str, dict[str, Any] | None, str | None]] = []
        self.delayed: list[tuple[str, timedelta]] = []
        self.runs: list[JobRun] = []
        self.down = False

    async def enqueue(
        self,
        task: str,
        args: dict[str, Any] | None = None,
        *,
        key: str | None = None,
        delay: timedelta | None = None,
    ) -> JobRun:
        if self.down:
            raise QueueDown(task)
        self.enqueued.append((task, args, key))
        if delay is not None:
            self.delayed.append((task, delay))
        run_id = uuid7()
        run = JobRun(
            id=run_id,
            task=task,
            idempotency_key=key or str(run_id),
            status=JobStatus.QUEUED,
            args=args or {},
            attempts=0,
            max_attempts=RetryPolicy().max_attempts,
            enqueued_at=self._clock.now(),
        )
        holder = next((r for r in self.runs if self._holds(r, task, run.idempotency_key)), None)
        if holder is not None:
            run.status = JobStatus.SKIPPED
            run.duplicate_of = holder.id
            run.finished_at = self._clock.now()
        self.runs.append(run)
        return copy.deepcopy(run)

    async def submit(
        self,
        task: Task[M],
        message: M,
        *,
        key: str | None = None,
        delay: timedelta | None = None,
    ) -> JobRun:
        return await self.enqueue(
            task.name, task.args(message), key=key or task.key_of(message), delay=delay
        )

    @staticmethod
    def _holds(run: JobRun, task: str, key: str) -> bool:
        return (run.task, run.idempotency_key) == (task, key) and run.status != JobStatus.SKIPPED


class FakeEventBus(InProcessBus):
    """The in-process bus (NATS subject matching, JSON round trip) that also keeps what was
    published; while ``down``, publishing raises ``ConnectionError`` as an unreachable NATS."""

    def __init__(self) -> None:
        super().__init__()
        self.published: list[tuple[str, dict[str, Any]]] = []
        self.down = False

    async def publish(self, subject: str, payload: dict[str, Any]) -> None:
        if self.down:
            raise ConnectionError(f"the bus is down; cannot publish {subject}")
        self.published.append((subject, payload))
        await super().publish(subject, payload)


class FakeMailTransport:
    """``MailTransport``: ``delivered`` keeps every envelope handed over, including those then
    refused with ``error`` (set it to fail each delivery until cleared)."""

    def __init__(self, name: str = "fake", *, configured: bool = True) -> None:
        self.name = name
        self._configured = configured
        self.delivered: list[Envelope] = []
        self.error: TransportError | None = None

    @property
    def configured(self) -> bool:
        return self._configured

    def configure(self) -> None:
        self._configured = True

    async def deliver(self, envelope: Envelope) -> None:
        self.delivered.append(envelope)
        if self.error is not None:
            raise self.error


# --- the platform's tables ---------------------------------------------------------------------


@dataclass
class RunAt:
    """A "run at" row: a retry or delayed delivery, claimed for a while by a releaser."""

    id: uuid.UUID
    run_at: datetime
    run_id: uuid.UUID
    task: str
    claimed_until: datetime | None = None


@dataclass
class StoredEvent:
    """An outbox event row; the list order of ``PlatformStore.events`` is the id (uuid7) order."""

    id: uuid.UUID
    subject: str
    payload: dict[str, Any]
    published_at: datetime | None = None


@dataclass
class Lease:
    holder: str
    expires_at: datetime
    watermark: datetime | None = None


@dataclass
class PlatformStore:
    """The committed rows a database would hold, shared by every unit of work over it."""

    runs: dict[uuid.UUID, JobRun] = field(default_factory=dict)
    run_at: list[RunAt] = field(default_factory=list)
    messages: dict[uuid.UUID, OutboxMessage] = field(default_factory=dict)
    events: list[StoredEvent] = field(default_factory=list)
    leases: dict[str, Lease] = field(default_factory=dict)
    commits: int = 0
    # Called by every save before its version check: a test plays a concurrent writer here.
    before_save: Callable[[JobRun], None] | None = None

    def rows(self) -> tuple[Any, ...]:
        return copy.deepcopy((self.runs, self.run_at, self.messages, self.events, self.leases))

    def restore(self, rows: tuple[Any, ...]) -> None:
        self.runs, self.run_at, self.messages, self.events, self.leases = rows


class FakeJobRunRepository:
    """``JobRunRepository`` with the unique (task, key) index of active runs and the version
    check; reads return copies, as rows read from a database are."""

    def __init__(
        self, store: PlatformStore, before_write: Callable[[], None] = _no_write_hook
    ) -> None:
        self._store = store
        self._before_write = before_write

    async def add(self, run: JobRun) -> None:
        if run.id in self._store.runs:
            raise DuplicateKey(f"id {run.id}")
        if run.status is not JobStatus.SKIPPED and self._holder(run.task, run.idempotency_key):
            raise DuplicateKey(f"({run.task}, {run.idempotency_key})")
        self._before_write()
        self._store.runs[run.id] = copy.deepcopy(run)

    async def get(self, run_id: uuid.UUID) -> JobRun | None:
        run = self._store.runs.get(run_id)
        return copy.deepcopy(run) if run else None

    async def find_active(self, task: str, key: str) -> JobRun | None:
        holder = self._holder(task, key)
        return copy.deepcopy(holder) if holder else None

    def _holder(self, task: str, key: str) -> JobRun | None:
        for run in self._store.runs.values():
            if (run.task, run.idempotency_key) == (task, key) and run.status != JobStatus.SKIPPED:
                return run
        return None

    async def save(self, run: JobRun) -> bool:
        if self._store.before_save is not None:
            self._store.before_save(run)
        stored = self._store.runs.get(run.id)
        if stored is None or stored.version != run.version:
            return False
        self._before_write()
        run.version += 1
        self._store.runs[run.id] = copy.deepcopy(run)
        return True

    async def page(self, flt: JobFilter, req: PageRequest) -> Page[JobRun]:
        found = [
            copy.deepcopy(run)
            for run in self._store.runs.values()
            if (flt.status is None or run.status == flt.status)
            and (flt.task is None or run.task == flt.task)
        ]
        found.sort(key=lambda run: (run.enqueued_at, run.id), reverse=True)
        items = found[req.offset : req.offset + req.page_size]
        return Page(items=items, total=len(found), page=req.page, page_size=req.page_size)

    async def schedule(self, run_id: uuid.UUID, task: str, run_at: datetime) -> None:
        self._before_write()
        self._store.run_at.append(RunAt(uuid7(), run_at, run_id, task))

    async def claim_due(
        self, now: datetime, limit: int, hold_s: float = 60.0
    ) -> list[tuple[uuid.UUID, uuid.UUID, str]]:
        due = [
            row
            for row in self._store.run_at
            if row.run_at <= now and (row.claimed_until is None or row.claimed_until < now)
        ]
        due = sorted(due, key=lambda row: row.run_at)[:limit]
        if due:
            self._before_write()
        for row in due:
            row.claimed_until = now + timedelta(seconds=hold_s)
        return [(row.id, row.run_id, row.task) for row in due]

    async def release_claimed(self, claim_ids: list[uuid.UUID]) -> None:
        if claim_ids:
            self._before_write()
            self._store.run_at = [row for row in self._store.run_at if row.id not in claim_ids]

    async def stale_queued(self, before: datetime, limit: int) -> list[JobRun]:
        waiting = {row.run_id for row in self._store.run_at}
        stale = [
            copy.deepcopy(run)
            for run in self._store.runs.values()
            if run.status == JobStatus.QUEUED and run.enqueued_at < before and run.id not in waiting
        ]
        return stale[:limit]

    async def stale_running(self, now: datetime, limit: int) -> list[JobRun]:
        stale = [
            copy.deepcopy(run)
            for run in self._store.runs.values()
            if run.status == JobStatus.RUNNING
            and run.lease_until is not None
            and run.lease_until < now
        ]
        return stale[:limit]


class FakeJobRunClaims:
    """``JobRunClaims``: the ledger's hot path, each call committed at once (no unit of work)."""

    def __init__(self, store: PlatformStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def claim(self, run_id: uuid.UUID, timeout_s: float) -> JobRun | None:
        run = self._store.runs.get(run_id)
        now = self._clock.now()
        if run is None or not (
            run.status in CLAIMABLE
            or (run.status is JobStatus.RUNNING and not run.holds_lease(now))
        ):
            return None
        run.start(now, timeout_s)
        run.version += 1
        return copy.deepcopy(run)

    async def succeed(self, run_id: uuid.UUID) -> bool:
        run = self._store.runs.get(run_id)
        if run is None or run.status not in SUCCEEDS_FROM:
            return False
        run.succeed(self._clock.now())
        run.version += 1
        return True


class FakeOutboxRepository:
    """``OutboxRepository``: messages newest first in listings, oldest first to the sweeper."""

    def __init__(
        self, store: PlatformStore, before_write: Callable[[], None] = _no_write_hook
    ) -> None:
        self._store = store
        self._before_write = before_write

    async def add_message(self, message: OutboxMessage) -> uuid.UUID:
        if message.id in self._store.messages:
            raise DuplicateKey(f"message {message.id}")
        if message.idempotency_key is not None:
            for kept in self._store.messages.values():
                if kept.idempotency_key == message.idempotency_key:
                    return kept.id
        self._before_write()
        self._store.messages[message.id] = copy.deepcopy(message)
        return message.id

    async def get_message(self, message_id: uuid.UUID) -> OutboxMessage | None:
        found = self._store.messages.get(message_id)
        return copy.deepcopy(found) if found else None

    async def save_message(self, message: OutboxMessage) -> None:
        if message.id in self._store.messages:
            self._before_write()
            self._store.messages[message.id] = copy.deepcopy(message)

    async def messages(
        self, status: OutboxStatus | None, recipient: str | None, req: PageRequest
    ) -> Page[OutboxMessage]:
        wanted = recipient.strip().lower() if recipient else None
        found = [
            copy.deepcopy(message)
            for message in self._store.messages.values()
            if (status is None or message.status == status)
            and (wanted is None or message.recipient == wanted)
        ]
        found.sort(key=lambda message: (message.created_at, message.id), reverse=True)
        items = found[req.offset : req.offset + req.page_size]
        return Page(items=items, total=len(found), page=req.page, page_size=req.page_size)

    async def unsent_messages(
        self, statuses: list[OutboxStatus], limit: int
    ) -> list[tuple[uuid.UUID, OutboxStatus]]:
        found = [m for m in self._store.messages.values() if m.status in statuses]
        found.sort(key=lambda message: message.created_at)
        return [(message.id, message.status) for message in found[:limit]]

    async def add_event(self, event_id: uuid.UUID, subject: str, payload: dict[str, Any]) -> None:
        if any(event.id == event_id for event in self._store.events):
            raise DuplicateKey(f"event {event_id}")
        self._before_write()
        self._store.events.append(StoredEvent(event_id, subject, copy.deepcopy(payload)))

    async def claim_unpublished_events(
        self, limit: int, ids: list[uuid.UUID] | None = None
    ) -> list[tuple[uuid.UUID, str, dict[str, Any]]]:
        rows = [
            event
            for event in self._store.events
            if event.published_at is None and (ids is None or event.id in ids)
        ]
        return [(event.id, event.subject, copy.deepcopy(event.payload)) for event in rows[:limit]]

    async def mark_published(self, event_ids: list[uuid.UUID], now: datetime) -> None:
        if not event_ids:
            return
        self._before_write()
        for event in self._store.events:
            if event.id in event_ids:
                event.published_at = now


class FakeLeaseRepository:
    """``LeaseRepository``: one holder per name until its lease lapses."""

    def __init__(
        self, store: PlatformStore, before_write: Callable[[], None] = _no_write_hook
    ) -> None:
        self._store = store
        self._before_write = before_write

    async def acquire(self, name: str, holder: str, now: datetime, ttl_s: float) -> bool:
        current = self._store.leases.get(name)
        if current is not None and current.holder != holder and current.expires_at >= now:
            return False
        self._before_write()
        watermark = current.watermark if current is not None else None
        self._store.leases[name] = Lease(holder, now + timedelta(seconds=ttl_s), watermark)
        return True

    async def release(self, name: str, holder: str) -> None:
        current = self._store.leases.get(name)
        if current is not None and current.holder == holder:
            self._before_write()
            current.expires_at = LAPSED

    async def watermark(self, name: str) -> datetime | None:
        current = self._store.leases.get(name)
        return current.watermark if current is not None else None

    async def set_watermark(self, name: str, holder: str, until: datetime) -> bool:
        current = self._store.leases.get(name)
        if current is None or current.holder != holder:
            return False
        self._before_write()
        current.watermark = until
        return True


class FakePlatformUnitOfWork:
    """``PlatformUnitOfWork`` over a ``PlatformStore``: rolls back unless committed.

    As the SQL unit does, ``record`` keeps events until ``commit`` writes them to the outbox,
    and ``after_commit`` (the relay) gets the new event and message ids once committed.
    """

    def __init__(self, store: PlatformStore, after_commit: AfterCommit | None = None) -> None:
        self._store = store
        self._after_commit = after_commit
        self._undo: tuple[Any, ...] | None = None  # the rows before this unit's first write
        self._events: list[DomainEvent] = []
        self._message_ids: list[uuid.UUID] = []
        self.jobs: JobRunRepository = FakeJobRunRepository(store, self._before_write)
        self.outbox: OutboxRepository = FakeOutboxRepository(store, self._before_write)
        self.leases: LeaseRepository = FakeLeaseRepository(store, self._before_write)

    def _before_write(self) -> None:
        if self._undo is None:
            self._undo = self._store.rows()

    async def __aenter__(self) -> Self:
        self._undo, self._events, self._message_ids = None, [], []
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.rollback()

    async def commit(self) -> None:
        event_ids = []
        for event in self._events:
            event_id = uuid7()
            await self.outbox.add_event(event_id, event.subject, event.payload())
            event_ids.append(event_id)
        message_ids = self._message_ids
        self._undo, self._events, self._message_ids = None, [], []
        self._store.commits += 1
        if self._after_commit is not None and (event_ids or message_ids):
            await self._after_commit(event_ids, message_ids)

    async def rollback(self) -> None:
        if self._undo is not None:
            self._store.restore(self._undo)
        self._undo, self._events, self._message_ids = None, [], []

    def record(self, event: DomainEvent) -> None:
        self._events.append(event)

    async def send(self, message: OutboxMessage) -> uuid.UUID:
        kept = await self.outbox.add_message(message)
        if kept == message.id:
            self._message_ids.append(kept)
        return kept


if TYPE_CHECKING:  # mypy holds every fake to its port
    from mas.core.platform.ports.events import EventBus
    from mas.core.platform.ports.mail import MailTransport
    from mas.core.platform.ports.tasks import Enqueuer, TaskQueue
    from mas.core.platform.ports.uow import JobRunClaims, PlatformUnitOfWork

    _store = PlatformStore()
    _clock: Clock = FakeClock()
    _queue: TaskQueue = FakeTaskQueue()
    _enqueuer: Enqueuer = FakeEnqueuer()
    _bus: EventBus = FakeEventBus()
    _mail: MailTransport = FakeMailTransport()
    _jobs: JobRunRepository = FakeJobRunRepository(_store)
    _claims: JobRunClaims = FakeJobRunClaims(_store, FakeClock())
    _outbox: OutboxRepository = FakeOutboxRepository(_store)
    _leases: LeaseRepository = FakeLeaseRepository(_store)
    _uow: PlatformUnitOfWork = FakePlatformUnitOfWork(_store)


class FakeAiCaller:
    """``AiCaller``: answers at once with a call id per idempotency key (the same key is the
    same call), records every placement in ``calls``; ``complete(call_id, outcome)`` sets the
    outcome ``fetch_outcome`` reads and returns the ``AiCallCompleted`` event to publish.
    ``failing``: an exception to raise from the next placements (a vendor outage)."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.by_key: dict[str, str] = {}
        self.outcomes: dict[str, AiCallOutcome] = {}
        self.failing: Exception | None = None

    async def place_call(
        self,
        *,
        lead_id: uuid.UUID,
        phone_e164: str,
        agent_ref: str,
        variables: dict[str, str],
        idempotency_key: str,
    ) -> AiCallHandle:
        if self.failing is not None:
            raise self.failing
        known = self.by_key.get(idempotency_key)
        if known is not None:
            return AiCallHandle(call_id=known)
        call_id = f"call-{len(self.by_key) + 1}"
        self.by_key[idempotency_key] = call_id
        self.calls.append(
            {
                "call_id": call_id,
                "lead_id": lead_id,
                "phone_e164": phone_e164,
                "agent_ref": agent_ref,
                "variables": dict(variables),
                "idempotency_key": idempotency_key,
            }
        )
        return AiCallHandle(call_id=call_id)

    async def fetch_outcome(self, call_id: str) -> AiCallOutcome | None:
        return self.outcomes.get(call_id)

    def complete(self, call_id: str, outcome: AiCallOutcome | str) -> AiCallCompleted:
        done = AiCallOutcome(outcome)
        self.outcomes[call_id] = done
        return AiCallCompleted(call_id=call_id, outcome=done)
