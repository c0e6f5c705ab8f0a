"""The SQLAlchemy unit of work: one session, one transaction, events relayed after commit.

It knows no domain: the repositories are a mapping (attribute name -> class taking the
session) gathered from the domains' manifests, and each is built on its first use in a
transaction (``uow.leads`` builds the lead repository; a use case that never touches it never
pays for it). A domain's core types the unit by its own protocol (``CrmUnitOfWork``, …).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mas.adapters.db.platform.outbox import SqlOutboxRepository
from mas.core.platform.events import DomainEvent
from mas.core.platform.ids import uuid7
from mas.core.platform.messages import OutboxMessage
from mas.core.platform.ports.uow import DuplicateKey

AfterCommit = Callable[[list[uuid.UUID], list[uuid.UUID]], Awaitable[None]]
RepositoryFactory = Callable[[AsyncSession], Any]


class SqlUnitOfWork:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        repositories: Mapping[str, RepositoryFactory],
        after_commit: AfterCommit | None = None,
    ) -> None:
        self._sessions = sessions
        self._factories = repositories
        self._after_commit = after_commit
        self._session: AsyncSession | None = None
        self._repositories: dict[str, Any] = {}
        self._events: list[DomainEvent] = []
        self._message_ids: list[uuid.UUID] = []
        self._held: list[OutboxMessage] | None = None

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("the unit of work is not open: use 'async with uow'")
        return self._session

    def __getattr__(self, name: str) -> Any:
        """A repository, built on its first use in this transaction."""
        factories = self.__dict__.get("_factories", {})
        if name not in factories:
            raise AttributeError(f"no repository named {name!r} is declared by any domain")
        repository = self._repositories.get(name)
        if repository is None:
            repository = self._repositories[name] = factories[name](self.session)
        return repository

    async def __aenter__(self) -> Self:
        self._session = self._sessions()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self.session
        try:
            if session.in_transaction():
                await session.rollback()
        finally:
            await session.close()
            self._session = None
            self._repositories.clear()

    def _outbox(self) -> SqlOutboxRepository:
        outbox: SqlOutboxRepository = self.outbox
        return outbox

    def record(self, event: DomainEvent) -> None:
        self._events.append(event)

    def hold_sends(self) -> None:
        """Until the commit, keyed messages are held back and then written in one statement
        (a workflow batch sends dozens); ``send`` answers each with its own id. Should a key
        turn out to be taken already, the commit raises ``DuplicateKey`` and writes nothing:
        the caller rolls back and sends one at a time, which returns the existing row."""
        self._held = []

    async def send(self, message: OutboxMessage) -> uuid.UUID:
        if self._held is not None and message.idempotency_key is not None:
            self._held.append(message)
            self._message_ids.append(message.id)
            return message.id
        kept = await self._outbox().add_message(message)
        if kept == message.id:  # a known idempotency key: that row was handed over already
            self._message_ids.append(kept)
        return kept

    async def commit(self) -> None:
        if self._held:
            held, self._held = self._held, []
            written = await self._outbox().add_messages(held)
            if written != len(held):
                raise DuplicateKey(f"{len(held) - written} held messages had a key in use")
        event_ids = []
        for event in self._events:
            event_id = uuid7()
            await self._outbox().add_event(event_id, event.subject, event.payload())
            event_ids.append(event_id)
        await self.session.commit()
        message_ids = self._message_ids
        self._events, self._message_ids = [], []
        if self._after_commit is not None and (event_ids or message_ids):
            await self._after_commit(event_ids, message_ids)

    async def rollback(self) -> None:
        self._events, self._message_ids = [], []
        self._held = [] if self._held is not None else None
        await self.session.rollback()
