"""The CRM's services, as the platform builds them once per process."""

from __future__ import annotations

from dataclasses import dataclass

from mas.core.crm.analytics import LeadAnalytics
from mas.core.crm.approvals import ApprovalService
from mas.core.crm.assignment import AssignmentService
from mas.core.crm.auto_assign import AutoAssigner
from mas.core.crm.campaigns import CampaignService
from mas.core.crm.config import SystemConfig
from mas.core.crm.contacts import LeadContacts
from mas.core.crm.followups import FollowUpService
from mas.core.crm.imports import ImportService
from mas.core.crm.intake import LeadIntakeService
from mas.core.crm.page_switches import PageSwitches
from mas.core.crm.phones import PhoneNormalizer
from mas.core.crm.ports.uow import CrmUnitOfWork
from mas.core.crm.service import LeadService
from mas.core.crm.tagging import TagService
from mas.core.crm.targets import TargetService
from mas.core.crm.teams import TeamService
from mas.core.crm.transfers import OwnershipTransfers
from mas.core.crm.vendor_intake import VendorLeadService
from mas.core.platform.ports.cache import Cache
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.messenger import Messenger
from mas.core.platform.ports.storage import Storage
from mas.core.platform.ports.tasks import Enqueuer
from mas.core.platform.ports.uow import UnitOfWorkFactory
from mas.core.platform.ratelimit import RateLimiter


@dataclass(frozen=True)
class CrmServices:
    clock: Clock
    jobs: Enqueuer
    intake: LeadIntakeService
    leads: LeadService
    follow_ups: FollowUpService
    tags: TagService
    campaigns: CampaignService
    analytics: LeadAnalytics
    assignment: AssignmentService
    auto_assign: AutoAssigner
    approvals: ApprovalService
    transfers: OwnershipTransfers
    teams: TeamService
    targets: TargetService
    imports: ImportService
    vendor_leads: VendorLeadService
    config: SystemConfig
    pages: PageSwitches
    contacts: LeadContacts
    """The public interface of the channels that reach a lead (communications uses it)."""


@dataclass(frozen=True)
class CrmPorts:
    """What the CRM needs from the outside, handed over by its module at start-up."""

    uow: UnitOfWorkFactory[CrmUnitOfWork]
    clock: Clock
    jobs: Enqueuer
    cache: Cache
    limiter: RateLimiter
    storage: Storage
    phones: PhoneNormalizer
    messenger: Messenger
    """How the CRM's mails go out (code templates ``MAIL_TEMPLATES``, in the caller's unit)."""
    zone: str = "Asia/Kolkata"
    ip_pepper: str = ""
    import_writers: int = 1
    """Transactions that may write one import's rows at the same time."""


def build_crm(ports: CrmPorts) -> CrmServices:
    uow, clock, phones = ports.uow, ports.clock, ports.phones
    pages = PageSwitches(uow=uow, cache=ports.cache)
    leads = LeadService(
        uow=uow, clock=clock, phones=phones, cache=ports.cache, zone=ports.zone, switches=pages
    )
    return CrmServices(
        clock=ports.clock,
        jobs=ports.jobs,
        intake=LeadIntakeService(uow=uow, clock=clock, phones=phones),
        leads=leads,
        follow_ups=FollowUpService(
            uow=uow, clock=clock, zone=ports.zone, messenger=ports.messenger
        ),
        tags=TagService(uow=uow, clock=clock, leads=leads),
        campaigns=CampaignService(
            uow=uow,
            clock=clock,
            phones=phones,
            limiter=ports.limiter,
            jobs=ports.jobs,
            ip_pepper=ports.ip_pepper,
        ),
        analytics=LeadAnalytics(uow=uow, clock=clock, zone=ports.zone),
        assignment=AssignmentService(
            uow=ports.uow, clock=ports.clock, jobs=ports.jobs, messenger=ports.messenger
        ),
        auto_assign=AutoAssigner(
            uow=ports.uow,
            clock=ports.clock,
            jobs=ports.jobs,
            zone=ports.zone,
            messenger=ports.messenger,
        ),
        approvals=ApprovalService(
            uow=ports.uow, clock=ports.clock, jobs=ports.jobs, messenger=ports.messenger
        ),
        transfers=OwnershipTransfers(uow=ports.uow, clock=ports.clock, messenger=ports.messenger),
        teams=TeamService(
            uow=ports.uow,
            clock=ports.clock,
            zone=ports.zone,
            switches=pages,
            messenger=ports.messenger,
        ),
        targets=TargetService(uow=ports.uow, clock=ports.clock, zone=ports.zone),
        imports=ImportService(
            uow=uow,
            storage=ports.storage,
            clock=clock,
            phones=phones,
            jobs=ports.jobs,
            writers=ports.import_writers,
        ),
        vendor_leads=VendorLeadService(uow=uow, clock=clock, phones=phones, jobs=ports.jobs),
        config=SystemConfig(ports.uow, ports.clock),
        pages=pages,
        contacts=LeadContacts(uow, clock),
    )
