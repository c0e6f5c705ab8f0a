"""The sales CRM's manifest: leads, imports, campaigns, assignment, targets, vendor intake."""

from __future__ import annotations

from mas.adapters.db.crm.assignments import SqlAssignmentRepository
from mas.adapters.db.crm.bulk_requests import SqlBulkRequestRepository
from mas.adapters.db.crm.imports import SqlImportRepository
from mas.adapters.db.crm.leads import SqlLeadRepository
from mas.adapters.db.crm.people import SqlPeopleDirectory
from mas.adapters.db.crm.profiles import SqlHeadProfileRepository
from mas.adapters.db.crm.system_config import SqlSystemConfigRepository
from mas.adapters.db.crm.targets import SqlTargetRepository
from mas.adapters.db.crm.teams import SqlTeamRepository
from mas.adapters.phone import LibPhoneNormalizer
from mas.core.crm.assignment_model import PAGE_FLAGS
from mas.core.crm.followups import MAIL_TEMPLATES
from mas.core.crm.handlers import HANDLERS, SUBSCRIPTIONS
from mas.core.crm.pages import POLICIES, SALES_HEAD_PAGES, VENDOR_SCOPES
from mas.core.crm.services import CrmPorts, CrmServices, build_crm
from mas.core.crm.tasks import CRONS
from mas.core.identity.policy import Caller
from mas.modules.base import Module
from mas.modules.container import Container


def build(c: Container) -> CrmServices:
    settings = c.settings
    return build_crm(
        CrmPorts(
            uow=c.uow,
            clock=c.clock,
            jobs=c.jobs,
            cache=c.cache,
            limiter=c.rate_limiter,
            storage=c.storage,
            phones=LibPhoneNormalizer(),
            messenger=c.messenger,
            zone=settings.timezone,
            ip_pepper=settings.encryption_key or settings.effective_jwt_secret,
            # SQLite takes one writer at a time: a second would only wait for the first.
            import_writers=settings.import_writers if c.engine.dialect.name == "postgresql" else 1,
        )
    )


async def check_page(c: Container, caller: Caller, page: str, flag: str | None) -> None:
    """A sales head's CRM profile flag for the page (403 ``page_disabled``)."""
    await c.crm.pages.require(caller, page, flag)


MODULE = Module(
    name="crm",
    services=CrmServices,
    build=build,
    tables=["mas.adapters.db.crm.tables"],
    repositories={
        "leads": SqlLeadRepository,
        "imports": SqlImportRepository,
        "assignments": SqlAssignmentRepository,
        "bulk_requests": SqlBulkRequestRepository,
        "head_profiles": SqlHeadProfileRepository,
        "teams": SqlTeamRepository,
        "targets": SqlTargetRepository,
        "people": SqlPeopleDirectory,
        "system_config": SqlSystemConfigRepository,
    },
    handlers=HANDLERS,
    crons=CRONS,
    subscriptions=SUBSCRIPTIONS,
    policies=POLICIES,
    pages=SALES_HEAD_PAGES,
    page_check=check_page,
    page_flags=PAGE_FLAGS,
    vendor_scopes=VENDOR_SCOPES,
    mail_templates=MAIL_TEMPLATES,
    controllers=[
        "mas.http.crm.leads:SalesLeadController",
        "mas.http.crm.leads:PoolLeadController",
        "mas.http.crm.campaigns:TagController",
        "mas.http.crm.campaigns:CampaignController",
        "mas.http.crm.campaigns:PublicCampaignController",
        "mas.http.crm.assignment:CrmAssignmentController",
        "mas.http.crm.assignment:SalesTargetsController",
        "mas.http.crm.assignment:AdminCrmController",
        "mas.http.crm.assignment:SystemConfigController",
        "mas.http.crm.imports:ImportController",
        "mas.http.crm.imports:VendorPullController",
        "mas.http.crm.imports:VendorPoolController",
        "mas.http.crm.imports:VendorLeadsController",
    ],
    cli={"leads": "mas.cli.leads:app"},
)
