"""``FakeCrmUnitOfWork``: the CRM's unit of work over a ``CrmStore``, every repository present.

It behaves as ``FakePlatformUnitOfWork`` does: the CRM's rows and the outbox are written
straight into the store, and what a unit changed is put back on exit unless it committed (the
rows are kept at the unit's first write). Identity's users and vendor keys are identity's own
fakes over the store's ``IdentityStore``, committed and rolled back with the unit. ``record``
keeps events until ``commit`` writes them to the outbox and appends them to ``store.events``.
The units of a test run one after another, as the services use them.
"""

from __future__ import annotations

import uuid
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from mas.adapters.fakes.crm.assignment import (
    FakeAssignmentRepository,
    FakeBulkRequestRepository,
    FakeHeadProfileRepository,
    FakePeopleDirectory,
    FakeSystemConfigRepository,
    FakeTargetRepository,
    FakeTeamRepository,
)
from mas.adapters.fakes.crm.imports import FakeImportRepository
from mas.adapters.fakes.crm.leads import FakeLeadRepository
from mas.adapters.fakes.crm.tables import CrmStore, CrmTables
from mas.adapters.fakes.identity import FakeUsers, FakeVendorKeys
from mas.adapters.fakes.platform import FakeOutboxRepository
from mas.core.crm.ports.assignments import AssignmentRepository
from mas.core.crm.ports.bulk_requests import BulkRequestRepository
from mas.core.crm.ports.imports import ImportRepository
from mas.core.crm.ports.leads import LeadRepository
from mas.core.crm.ports.people import PeopleDirectory
from mas.core.crm.ports.profiles import HeadProfileRepository
from mas.core.crm.ports.system_config import SystemConfigRepository
from mas.core.crm.ports.targets import TargetRepository
from mas.core.crm.ports.teams import TeamRepository
from mas.core.identity.ports import UserRepository, VendorKeyRepository
from mas.core.platform.events import DomainEvent
from mas.core.platform.ids import uuid7
from mas.core.platform.messages import OutboxMessage
from mas.core.platform.ports.uow import OutboxRepository


class FakeCrmUnitOfWork:
    def __init__(self, store: CrmStore) -> None:
        self._store = store
        self._undo: tuple[CrmTables, tuple[Any, ...]] | None = None
        self._events: list[DomainEvent] = []
        hook = self._before_write
        self.leads: LeadRepository = FakeLeadRepository(store, hook)
        self.imports: ImportRepository = FakeImportRepository(store, hook)
        self.assignments: AssignmentRepository = FakeAssignmentRepository(store, hook)
        self.bulk_requests: BulkRequestRepository = FakeBulkRequestRepository(store, hook)
        self.head_profiles: HeadProfileRepository = FakeHeadProfileRepository(store, hook)
        self.teams: TeamRepository = FakeTeamRepository(store, hook)
        self.targets: TargetRepository = FakeTargetRepository(store, hook)
        self.people: PeopleDirectory = FakePeopleDirectory(store, hook)
        self.system_config: SystemConfigRepository = FakeSystemConfigRepository(store, hook)
        self.users: UserRepository = FakeUsers(store.identity)
        self.vendor_keys: VendorKeyRepository = FakeVendorKeys(store.identity)
        self.outbox: OutboxRepository = FakeOutboxRepository(store.platform, hook)

    def _before_write(self) -> None:
        if self._undo is None:
            self._undo = self._store.snapshot()

    async def __aenter__(self) -> Self:
        self._store.opened += 1
        self._undo, self._events = None, []
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.rollback()

    async def commit(self) -> None:
        for event in self._events:
            await self.outbox.add_event(uuid7(), event.subject, event.payload())
        self._store.events.extend(self._events)
        self._undo, self._events = None, []
        self._store.identity.commit()
        self._store.commits += 1

    async def rollback(self) -> None:
        if self._undo is not None:
            self._store.restore(self._undo)
        self._undo, self._events = None, []
        self._store.identity.rollback()

    def record(self, event: DomainEvent) -> None:
        self._events.append(event)

    async def send(self, message: OutboxMessage) -> uuid.UUID:
        return await self.outbox.add_message(message)


if TYPE_CHECKING:  # mypy holds every fake to its port
    from mas.core.crm.ports.uow import CrmUnitOfWork
    from mas.core.platform.ports.uow import UnitOfWorkFactory

    _store = CrmStore()
    _leads: LeadRepository = FakeLeadRepository(_store)
    _imports: ImportRepository = FakeImportRepository(_store)
    _assignments: AssignmentRepository = FakeAssignmentRepository(_store)
    _requests: BulkRequestRepository = FakeBulkRequestRepository(_store)
    _profiles: HeadProfileRepository = FakeHeadProfileRepository(_store)
    _teams: TeamRepository = FakeTeamRepository(_store)
    _targets: TargetRepository = FakeTargetRepository(_store)
    _people: PeopleDirectory = FakePeopleDirectory(_store)
    _config: SystemConfigRepository = FakeSystemConfigRepository(_store)
    _uow: CrmUnitOfWork = FakeCrmUnitOfWork(_store)
    _factory: UnitOfWorkFactory[CrmUnitOfWork] = lambda: FakeCrmUnitOfWork(_store)  # noqa: E731
