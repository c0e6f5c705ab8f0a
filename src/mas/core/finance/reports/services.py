"""The reports part's services, as its manifest builds them."""

from __future__ import annotations

from dataclasses import dataclass

from mas.core.finance.audit.trail import AuditTrail
from mas.core.finance.reports.exports import Exports
from mas.core.finance.reports.ports import (
    PayoutSource,
    ReportsUnitOfWork,
    TeamDirectory,
    WorkbookPacker,
)
from mas.core.finance.reports.reports import Reports
from mas.core.finance.reports.team import FinanceTeam
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.secrets import SecretBox
from mas.core.platform.ports.storage import Storage
from mas.core.platform.ports.tasks import Enqueuer
from mas.core.platform.ports.uow import UnitOfWorkFactory


@dataclass(frozen=True)
class ReportPorts:
    uow: UnitOfWorkFactory[ReportsUnitOfWork]
    clock: Clock
    trail: AuditTrail
    """The audit part's trail: exports append EXPORT rows in their own unit of work."""
    jobs: Enqueuer
    storage: Storage
    packer: WorkbookPacker
    box: SecretBox | None
    """None: no key to seal export passwords with (exports answer 503)."""
    payouts: PayoutSource | None
    team: TeamDirectory


@dataclass(frozen=True)
class ReportServices:
    reports: Reports
    exports: Exports
    team: FinanceTeam
    """The FINANCE accounts, through identity's account administration."""


def build_reports(ports: ReportPorts) -> ReportServices:
    return ReportServices(
        reports=Reports(ports.uow, ports.clock),
        exports=Exports(
            uow=ports.uow,
            clock=ports.clock,
            trail=ports.trail,
            jobs=ports.jobs,
            storage=ports.storage,
            packer=ports.packer,
            box=ports.box,
            payouts=ports.payouts,
        ),
        team=FinanceTeam(ports.team),
    )
