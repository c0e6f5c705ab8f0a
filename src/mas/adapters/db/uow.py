"""The SQLAlchemy unit of work: one session, one transaction, events relayed after commit."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mas.adapters.db.crm.assignment import SqlAssignmentRepository
from mas.adapters.db.crm.imports import SqlImportRepository
from mas.adapters.db.crm.leads import SqlLeadRepository
from mas.adapters.db.identity.repos import (
    SqlAuditLog,
    SqlOtpRepository,
    SqlSessionRepository,
    SqlUserRepository,
    SqlVendorKeyRepository,
)
from mas.adapters.db.platform.jobs import SqlJobRunRepository
from mas.adapters.db.platform.leases import SqlLeaseRepository
from mas.adapters.db.platform.outbox import SqlOutboxRepository
from mas.core.platform.events import DomainEvent
from mas.core.platform.ids import uuid7
from mas.core.platform.messages import OutboxMessage

AfterCommit = Callable[[list[uuid.UUID], list[uuid.UUID]], Awaitable[None]]


class SqlUnitOfWork:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], after_commit: AfterCommit | None = None
    ) -> None:
        self._sessions = sessions
        self._after_commit = after_commit
        self._session: AsyncSession | None = None
        self._events: list[DomainEvent] = []
        self._message_ids: list[uuid.UUID] = []

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("the unit of work is not open: use 'async with uow'")
        return self._session

    async def __aenter__(self) -> Self:
        self._session = self._sessions()
        self.jobs = SqlJobRunRepository(self._session)
        self.outbox = SqlOutboxRepository(self._session)
        self.leases = SqlLeaseRepository(self._session)
        self.users = SqlUserRepository(self._session)
        self.sessions = SqlSessionRepository(self._session)
        self.otps = SqlOtpRepository(self._session)
        self.vendor_keys = SqlVendorKeyRepository(self._session)
        self.audit = SqlAuditLog(self._session)
        self.leads = SqlLeadRepository(self._session)
        self.imports = SqlImportRepository(self._session)
        self.assignments = SqlAssignmentRepository(self._session)
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

    def record(self, event: DomainEvent) -> None:
        self._events.append(event)

    async def send(self, message: OutboxMessage) -> None:
        await self.outbox.add_message(message)
        self._message_ids.append(message.id)

    async def commit(self) -> None:
        event_ids = []
        for event in self._events:
            event_id = uuid7()
            await self.outbox.add_event(event_id, event.subject, event.payload())
            event_ids.append(event_id)
        await self.session.commit()
        message_ids = self._message_ids
        self._events, self._message_ids = [], []
        if self._after_commit is not None and (event_ids or message_ids):
            await self._after_commit(event_ids, message_ids)

    async def rollback(self) -> None:
        self._events, self._message_ids = [], []
        await self.session.rollback()
