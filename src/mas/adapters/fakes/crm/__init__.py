"""In-memory stand-ins for every port of the CRM, and its unit of work.

``CrmStore`` is the fake database (the CRM's tables, plus identity's and the platform's stores
for the users, vendor keys and outbox the CRM also reads); ``FakeCrmUnitOfWork(store)`` is one
transaction over it with every repository of ``CrmUnitOfWork``. The repositories answer as
their SQL adapters in ``mas.adapters.db.crm`` do where a service relies on it: the unique keys
(``DuplicateKey``), version checks, orderings, scopes and filters. ``mypy`` holds each fake to
its port (the end of ``uow.py``).
"""

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
from mas.adapters.fakes.crm.tables import CrmStore, CrmTables, VendorHead, VendorLead
from mas.adapters.fakes.crm.uow import FakeCrmUnitOfWork

__all__ = [
    "CrmStore",
    "CrmTables",
    "FakeAssignmentRepository",
    "FakeBulkRequestRepository",
    "FakeCrmUnitOfWork",
    "FakeHeadProfileRepository",
    "FakeImportRepository",
    "FakeLeadRepository",
    "FakePeopleDirectory",
    "FakeSystemConfigRepository",
    "FakeTargetRepository",
    "FakeTeamRepository",
    "VendorHead",
    "VendorLead",
]
