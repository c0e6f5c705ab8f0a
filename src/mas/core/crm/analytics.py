"""Funnel counts and the CSV export of a filtered pool (both within the caller's scope)."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import date

from mas.core.crm.lead_access import scope_of
from mas.core.crm.merge_rule import CONTACT_FIELDS
from mas.core.crm.model import Lead, LeadStatus
from mas.core.crm.ports.uow import CrmUnitOfWork
from mas.core.crm.queries import (
    EXPORT_MAX_ROWS,
    FunnelReport,
    LeadFilter,
    date_range,
    local_date,
)
from mas.core.crm.scope import LeadScope
from mas.core.identity.policy import Caller
from mas.core.platform.errors import FieldError, ValidationFailed
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import UnitOfWorkFactory

EXPORT_BATCH = 1000
COLUMNS = (
    "id",
    *CONTACT_FIELDS,
    "source",
    "source_detail",
    "status",
    "owning_sales_head_id",
    "assigned_to",
    "assigned_counsellor",
    "tags",
    "reinquiry_count",
    "lost_reason",
    "conversion_ref",
    "next_follow_up_at",
    "last_activity_at",
    "created_at",
)
_PHONES = frozenset({"phone_e164", "phone_alt"})
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(column: str, value: object) -> str:
    """Plain text for a spreadsheet: a typed value that starts like a formula is defused."""
    if value is None:
        return ""
    if isinstance(value, list):
        text = ";".join(str(v) for v in value)
    elif hasattr(value, "isoformat"):
        text = value.isoformat()
    elif hasattr(value, "value"):
        text = str(value.value)
    else:
        text = str(value)
    if column not in _PHONES and text.startswith(_FORMULA):
        return "'" + text
    return text


def csv_lines(leads: list[Lead], header: bool) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if header:
        writer.writerow(COLUMNS)
    for lead in leads:
        writer.writerow([csv_cell(c, getattr(lead, c)) for c in COLUMNS])
    return out.getvalue().encode("utf-8")


class LeadAnalytics:
    def __init__(self, *, uow: UnitOfWorkFactory[CrmUnitOfWork], clock: Clock, zone: str) -> None:
        self._uow = uow
        self._clock = clock
        self._zone = zone

    async def funnel(
        self,
        caller: Caller,
        date_from: date | None,
        date_to: date | None,
        flt: LeadFilter,
    ) -> FunnelReport:
        today = local_date(self._clock.now(), self._zone)
        start, end, lower, upper = date_range(date_from, date_to, today, self._zone)
        ranged = LeadFilter(
            statuses=flt.statuses,
            tag=flt.tag,
            source=flt.source,
            pool=flt.pool,
            created_from=lower,
            created_before=upper,
        )
        async with self._uow() as uow:
            by_status, by_source, by_tag = await uow.leads.funnel(
                await scope_of(uow, caller), ranged
            )
        statuses = {s.value: by_status.get(s.value, 0) for s in LeadStatus}
        return FunnelReport(
            date_from=start,
            date_to=end,
            total=sum(statuses.values()),
            by_status=statuses,
            by_source=dict(sorted(by_source.items())),
            by_tag=dict(sorted(by_tag.items())),
        )

    async def export(self, caller: Caller, flt: LeadFilter) -> AsyncIterator[bytes]:
        """Check the size first (422 above 100 000 rows), then stream the CSV in batches."""
        async with self._uow() as uow:
            scope = await scope_of(uow, caller)
            count = await uow.leads.count(scope, flt, EXPORT_MAX_ROWS)
        if count > EXPORT_MAX_ROWS:
            raise ValidationFailed(
                f"the export is limited to {EXPORT_MAX_ROWS} rows; narrow the filters",
                code="export_too_large",
                errors=[FieldError("status", "too many rows match")],
            )
        return self._rows(scope, flt)

    async def _rows(self, scope: LeadScope, flt: LeadFilter) -> AsyncIterator[bytes]:
        after = None
        header = True
        while True:
            async with self._uow() as uow:
                batch = await uow.leads.export_batch(scope, flt, after, EXPORT_BATCH)
            if batch or header:
                yield csv_lines(batch, header)
            header = False
            if len(batch) < EXPORT_BATCH:
                return
            after = (batch[-1].created_at, batch[-1].id)
