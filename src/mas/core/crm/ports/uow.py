"""The CRM's view of a unit of work.

Besides its own repositories the CRM reads two of identity's (people and vendor keys): an
allowed edge of the domain-independence contract (``pyproject.toml``). It also checks the
outbox for a notice already sent, which every domain may do.
"""

from __future__ import annotations

from typing import Protocol

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
from mas.core.platform.ports.uow import OutboxRepository, UnitOfWork


class CrmUnitOfWork(UnitOfWork, Protocol):
    leads: LeadRepository
    imports: ImportRepository
    assignments: AssignmentRepository
    bulk_requests: BulkRequestRepository
    head_profiles: HeadProfileRepository
    teams: TeamRepository
    targets: TargetRepository
    people: PeopleDirectory
    system_config: SystemConfigRepository
    users: UserRepository
    vendor_keys: VendorKeyRepository
    outbox: OutboxRepository
