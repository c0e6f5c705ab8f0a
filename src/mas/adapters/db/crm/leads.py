"""CRM leads on SQLAlchemy Core: scope, de-duplication lookups, lists, export, funnel.

Lists read Core rows (no ORM identity map) and load the tags of a whole page with one extra
query. ``scope_clause`` is the one place a ``LeadScope`` becomes SQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    exists,
    false,
    func,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mas.adapters.db.crm.catalog import SqlCampaignStore, SqlTagStore
from mas.adapters.db.crm.journal import (
    SqlFollowUpStore,
    SqlLeadJournal,
    chunks,
    plain,
    serialise_writers,
    table,
)
from mas.adapters.db.crm.tables import (
    LeadAssignmentRow,
    LeadFollowUpRow,
    LeadTagRow,
    RawLeadRow,
    RawLeadTagRow,
    SalesHeadProfileRow,
    SalesTeamMemberRow,
)
from mas.core.crm.model import FollowUpStatus, IncomingLead, Lead
from mas.core.crm.queries import COUNT_CAP, LeadFilter, LeadPage
from mas.core.crm.scope import LeadScope, ScopeKind
from mas.core.platform.paging import PageRequest
from mas.core.platform.ports.uow import DuplicateKey

LEADS = table(RawLeadRow)
TAGS = table(LeadTagRow)
TAGGINGS = table(RawLeadTagRow)  # which lead carries which tag
FOLLOW_UPS = table(LeadFollowUpRow)
_COLUMNS = [LEADS.c[f.name] for f in msgspec.structs.fields(Lead) if f.name != "tags"]
# A lead's live tags, read with the lead itself: one correlated look-up per row on the
# (raw_lead_id, tag_id) index instead of a second query with an ``IN`` list rendered per page.
# Tag names are slugs ([a-z0-9-]), so a comma separates them safely.
_TAG_NAMES = (
    select(func.aggregate_strings(TAGS.c.name, ","))
    .select_from(TAGGINGS.join(TAGS, TAGS.c.id == TAGGINGS.c.tag_id))
    .where(TAGGINGS.c.raw_lead_id == LEADS.c.id, TAGS.c.deleted_at.is_(None))
    .scalar_subquery()
    .label("tags")
)
# Built once: coercing two dozen columns on every request is measurable on the list route.
_SELECT_LEADS = select(*_COLUMNS, _TAG_NAMES)
EDITABLE = (
    *(f.name for f in msgspec.structs.fields(IncomingLead) if f.name != "tags"),
    "status",
    "lost_reason",
    "conversion_ref",
    "reinquiry_count",
)
"""What ``save`` writes: what an intake brings (tags live in their own table) and the state."""


def scope_clause(scope: LeadScope, *, write: bool = False) -> ColumnElement[bool]:
    """Which leads a scope reaches (live-ness is checked separately)."""
    if scope.kind is ScopeKind.ALL:
        return true()
    if scope.kind is ScopeKind.POOL:
        if scope.read_all_pools and not write:
            return true()
        return LEADS.c.owning_sales_head_id == scope.user_id
    if scope.kind is ScopeKind.ASSIGNED:
        return or_(
            LEADS.c.assigned_to == scope.user_id, LEADS.c.assigned_counsellor == scope.user_id
        )
    return false()


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def filter_clauses(flt: LeadFilter) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if flt.statuses:
        found.append(LEADS.c.status.in_([s.value for s in flt.statuses]))
    if flt.tag:
        # Correlated to the lead only: the funnel's by-tag query joins TAGS and TAGGINGS itself,
        # and auto-correlation would otherwise take them from this subquery (no FROM left).
        found.append(
            exists()
            .where(TAGGINGS.c.raw_lead_id == LEADS.c.id, TAGGINGS.c.tag_id == TAGS.c.id)
            .where(TAGS.c.name == flt.tag.strip().lower(), TAGS.c.deleted_at.is_(None))
            .correlate(LEADS)
        )
    if flt.q and flt.q.strip():
        q = flt.q.strip().lower()
        options = [
            func.lower(LEADS.c.name).like(_like(q), escape="\\"),
            LEADS.c.email.like(_like(q), "\\"),
        ]
        digits = "".join(ch for ch in q if ch.isdigit())
        if len(digits) >= 4:
            options.append(LEADS.c.phone_e164.like(_like(digits), escape="\\"))
            options.append(LEADS.c.phone_alt.like(_like(digits), escape="\\"))
        found.append(or_(*options))
    if flt.follow_up_due_before is not None:
        found.append(LEADS.c.next_follow_up_at < flt.follow_up_due_before)
    if flt.unassigned:
        found.append(LEADS.c.assigned_to.is_(None))
    if flt.assigned_to is not None:
        found.append(LEADS.c.assigned_to == flt.assigned_to)
    if flt.source is not None:
        found.append(LEADS.c.source == flt.source.value)
    if flt.pool is not None:
        found.append(LEADS.c.owning_sales_head_id == flt.pool)
    if flt.created_from is not None:
        found.append(LEADS.c.created_at >= flt.created_from)
    if flt.created_before is not None:
        found.append(LEADS.c.created_at < flt.created_before)
    return found


def _capped_count(condition: ColumnElement[bool], cap: int) -> Select[Any]:
    """How many leads match, counting no further than ``cap`` + 1: walked in the list's index
    order (pool or assignee, status, created_at), a pool of 200,000 costs what one of ``cap``
    does."""
    capped = (
        select(LEADS.c.id).where(condition).order_by(LEADS.c.created_at.desc()).limit(cap + 1)
    ).subquery()
    return select(func.count()).select_from(capped)


def _to_leads(rows: Sequence[RowMapping]) -> list[Lead]:
    """Leads from rows of ``_SELECT_LEADS`` (extra columns are ignored)."""
    return msgspec.convert(
        [{**row, "tags": sorted(row["tags"].split(",")) if row["tags"] else []} for row in rows],
        list[Lead],
    )


def where(scope: LeadScope, flt: LeadFilter | None = None) -> ColumnElement[bool]:
    return and_(
        LEADS.c.deleted_at.is_(None), scope_clause(scope), *filter_clauses(flt or LeadFilter())
    )


class SqlLeadStore:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def _leads(self, stmt: Select[Any]) -> list[Lead]:
        return _to_leads((await self._s.execute(stmt)).mappings().all())

    async def get(
        self, lead_id: uuid.UUID, scope: LeadScope, *, write: bool = False, lock: bool = False
    ) -> Lead | None:
        stmt = _SELECT_LEADS.where(
            LEADS.c.id == lead_id, LEADS.c.deleted_at.is_(None), scope_clause(scope, write=write)
        )
        if lock:
            await serialise_writers(self._s)
            stmt = stmt.with_for_update(of=LEADS)
        found = await self._leads(stmt)
        return found[0] if found else None

    async def find_match(
        self, phone: str | None, phone_alt: str | None, email: str | None
    ) -> Lead | None:
        tries: list[ColumnElement[bool]] = []
        if phone:
            tries += [LEADS.c.phone_e164 == phone, LEADS.c.phone_alt == phone]
        if phone_alt:
            tries.append(LEADS.c.phone_e164 == phone_alt)
        if email:
            tries.append(LEADS.c.email == email)
        await serialise_writers(self._s)
        for condition in tries:
            stmt = (
                _SELECT_LEADS.where(condition, LEADS.c.deleted_at.is_(None))
                .order_by(LEADS.c.created_at, LEADS.c.id)
                .limit(1)
                .with_for_update(of=LEADS)
            )
            found = await self._leads(stmt)
            if found:
                return found[0]
        return None

    async def add(self, lead: Lead) -> None:
        values = {c.name: plain(getattr(lead, c.name)) for c in _COLUMNS}
        try:
            await self._s.execute(insert(LEADS).values(**values))
        except IntegrityError:
            raise DuplicateKey(f"lead {lead.phone_e164 or lead.email}") from None

    async def save(self, lead: Lead) -> bool:
        values = {name: plain(getattr(lead, name)) for name in EDITABLE}
        now = datetime.now(UTC)
        stmt = (
            update(LEADS)
            .where(
                LEADS.c.id == lead.id, LEADS.c.version == lead.version, LEADS.c.deleted_at.is_(None)
            )
            .values(**values, version=LEADS.c.version + 1, updated_at=now)
        )
        try:
            result = await self._s.execute(stmt)
        except IntegrityError:
            raise DuplicateKey(f"lead {lead.phone_e164 or lead.email}") from None
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return False
        lead.version += 1
        lead.updated_at = now
        return True

    async def page(self, scope: LeadScope, flt: LeadFilter, req: PageRequest) -> LeadPage:
        condition = where(scope, flt)
        # The capped total rides along as one more column (PostgreSQL and SQLite evaluate an
        # uncorrelated scalar subquery once): one round trip for the page and its count.
        total_rows = _capped_count(condition, COUNT_CAP).scalar_subquery().label("total_rows")
        stmt = (
            _SELECT_LEADS.add_columns(total_rows)
            .where(condition)
            .order_by(LEADS.c.created_at.desc(), LEADS.c.id.desc())
            .offset(req.offset)
            .limit(req.page_size)
        )
        rows = (await self._s.execute(stmt)).mappings().all()
        # A page past the end has no row to carry the count.
        total = int(rows[0]["total_rows"]) if rows else await self._count(condition, COUNT_CAP)
        return LeadPage(
            items=_to_leads(rows),
            total=min(total, COUNT_CAP),
            page=req.page,
            page_size=req.page_size,
            total_capped=total > COUNT_CAP,
        )

    async def _count(self, condition: ColumnElement[bool], cap: int) -> int:
        return int((await self._s.execute(_capped_count(condition, cap))).scalar_one())

    async def count(self, scope: LeadScope, flt: LeadFilter, cap: int) -> int:
        return await self._count(where(scope, flt), cap)

    async def export_batch(
        self,
        scope: LeadScope,
        flt: LeadFilter,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> list[Lead]:
        stmt = _SELECT_LEADS.where(where(scope, flt))
        if after is not None:
            moment, last = after
            stmt = stmt.where(
                or_(
                    LEADS.c.created_at > moment,
                    and_(LEADS.c.created_at == moment, LEADS.c.id > last),
                )
            )
        return await self._leads(stmt.order_by(LEADS.c.created_at, LEADS.c.id).limit(limit))

    async def in_scope(
        self, scope: LeadScope, lead_ids: Sequence[uuid.UUID], *, write: bool
    ) -> list[uuid.UUID]:
        found: list[uuid.UUID] = []
        for part in chunks(list(lead_ids)):
            rows = await self._s.execute(
                select(LEADS.c.id).where(
                    LEADS.c.id.in_(part),
                    LEADS.c.deleted_at.is_(None),
                    scope_clause(scope, write=write),
                )
            )
            found += rows.scalars().all()
        return found

    async def soft_delete(self, lead_id: uuid.UUID, now: datetime) -> bool:
        result = await self._s.execute(
            update(LEADS)
            .where(LEADS.c.id == lead_id, LEADS.c.deleted_at.is_(None))
            .values(deleted_at=now, version=LEADS.c.version + 1, updated_at=now)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def refresh_next_follow_up(self, lead_ids: Sequence[uuid.UUID]) -> None:
        earliest = (
            select(func.min(FOLLOW_UPS.c.due_at))
            .where(
                FOLLOW_UPS.c.raw_lead_id == LEADS.c.id,
                FOLLOW_UPS.c.status == FollowUpStatus.PENDING.value,
            )
            .scalar_subquery()
        )
        for part in chunks(list(lead_ids)):
            await self._s.execute(
                update(LEADS).where(LEADS.c.id.in_(part)).values(next_follow_up_at=earliest)
            )

    async def funnel(
        self, scope: LeadScope, flt: LeadFilter
    ) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
        condition = where(scope, flt)
        by: list[dict[str, int]] = []
        for column in (LEADS.c.status, LEADS.c.source):
            rows = await self._s.execute(
                select(column, func.count()).where(condition).group_by(column)
            )
            by.append({str(key): int(n) for key, n in rows})
        rows = await self._s.execute(
            select(TAGS.c.name, func.count())
            .select_from(
                LEADS.join(TAGGINGS, TAGGINGS.c.raw_lead_id == LEADS.c.id).join(
                    TAGS, TAGS.c.id == TAGGINGS.c.tag_id
                )
            )
            .where(condition, TAGS.c.deleted_at.is_(None))
            .group_by(TAGS.c.name)
        )
        return by[0], by[1], {str(name): int(n) for name, n in rows}

    async def isolation_enabled(self, head_id: uuid.UUID) -> bool:
        flag = (
            await self._s.execute(
                select(SalesHeadProfileRow.isolation_enabled).where(
                    SalesHeadProfileRow.user_id == head_id
                )
            )
        ).scalar_one_or_none()
        return True if flag is None else bool(flag)

    async def head_of(self, user_id: uuid.UUID) -> uuid.UUID | None:
        head: uuid.UUID | None = (
            await self._s.execute(
                select(SalesTeamMemberRow.sales_head_id)
                .where(SalesTeamMemberRow.user_id == user_id, SalesTeamMemberRow.active.is_(True))
                .limit(1)
            )
        ).scalar_one_or_none()
        return head

    async def record_self_assignment(
        self, lead_id: uuid.UUID, assignee_id: uuid.UUID, reason: str, now: datetime
    ) -> None:
        await self._s.execute(
            insert(table(LeadAssignmentRow)).values(
                raw_lead_id=lead_id,
                slot="FIRST_LINE",
                assignee_id=assignee_id,
                previous_assignee_id=None,
                method="MANUAL",
                reason=reason,
                assigned_by=assignee_id,
                created_at=now,
                updated_at=now,
            )
        )


class SqlLeadRepository(
    SqlLeadStore, SqlLeadJournal, SqlFollowUpStore, SqlTagStore, SqlCampaignStore
):
    """``uow.leads``: every store of the lead lifecycle on one session."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session
