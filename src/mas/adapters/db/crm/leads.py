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
    BindParameter,
    ColumnElement,
    Select,
    and_,
    bindparam,
    exists,
    false,
    func,
    insert,
    or_,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.sql import visitors

from mas.adapters.db.crm.catalog import SqlCampaignStore, SqlTagStore
from mas.adapters.db.crm.journal import (
    SqlFollowUpStore,
    SqlLeadJournal,
    chunks,
    plain,
    serialise_writers,
    table,
)
from mas.adapters.db.crm.lead_page_reads import fetch_page
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
from mas.core.crm.queries import COUNT_CAP, LeadFilter, LeadSlice
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


_SCOPE_USER = "scope_user"


def scope_clause(scope: LeadScope, *, write: bool = False) -> ColumnElement[bool]:
    """Which leads a scope reaches (live-ness is checked separately). The user is the bound
    parameter ``scope_user``: a statement built once per shape takes it at execution."""
    if scope.kind is ScopeKind.ALL:
        return true()
    if scope.kind is ScopeKind.POOL:
        if scope.read_all_pools and not write:
            return true()
        return LEADS.c.owning_sales_head_id == _param(_SCOPE_USER, scope.user_id, LEADS.c.id)
    if scope.kind is ScopeKind.ASSIGNED:
        user = _param(_SCOPE_USER, scope.user_id, LEADS.c.id)
        return or_(LEADS.c.assigned_to == user, LEADS.c.assigned_counsellor == user)
    return false()


def scope_values(scope: LeadScope, *, write: bool = False) -> dict[str, Any]:
    """The parameters ``scope_clause`` binds, by name."""
    if scope.kind is ScopeKind.ASSIGNED or (
        scope.kind is ScopeKind.POOL and (write or not scope.read_all_pools)
    ):
        return {_SCOPE_USER: scope.user_id}
    return {}


def _param(name: str, value: Any, like: ColumnElement[Any]) -> BindParameter[Any]:
    return bindparam(name, value, type_=like.type)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


_UNASSIGNED = "f_unassigned"  # a filter with no value: its key only marks the statement's shape


def filter_values(flt: LeadFilter) -> dict[str, Any]:
    """The filters' bound parameters by name; which names are present is the statement's
    shape (``filter_clauses`` builds one clause per name)."""
    found: dict[str, Any] = {}
    if flt.statuses:
        found["f_statuses"] = [s.value for s in flt.statuses]
    if flt.tag:
        found["f_tag"] = flt.tag.strip().lower()
    if flt.q and flt.q.strip():
        q = flt.q.strip().lower()
        found["f_q"] = _like(q)
        digits = "".join(ch for ch in q if ch.isdigit())
        if len(digits) >= 4:
            found["f_digits"] = _like(digits)
    if flt.follow_up_due_before is not None:
        found["f_due_before"] = flt.follow_up_due_before
    if flt.unassigned:
        found[_UNASSIGNED] = True
    if flt.assigned_to is not None:
        found["f_assigned_to"] = flt.assigned_to
    if flt.source is not None:
        found["f_source"] = flt.source.value
    if flt.pool is not None:
        found["f_pool"] = flt.pool
    if flt.created_from is not None:
        found["f_created_from"] = flt.created_from
    if flt.created_before is not None:
        found["f_created_before"] = flt.created_before
    return found


def filter_clauses(
    flt: LeadFilter, values: dict[str, Any] | None = None
) -> list[ColumnElement[bool]]:
    v = filter_values(flt) if values is None else values
    found: list[ColumnElement[bool]] = []
    if "f_statuses" in v:
        found.append(LEADS.c.status.in_(bindparam("f_statuses", v["f_statuses"], expanding=True)))
    if "f_tag" in v:
        # Correlated to the lead only: the funnel's by-tag query joins TAGS and TAGGINGS itself,
        # and auto-correlation would otherwise take them from this subquery (no FROM left).
        found.append(
            exists()
            .where(TAGGINGS.c.raw_lead_id == LEADS.c.id, TAGGINGS.c.tag_id == TAGS.c.id)
            .where(
                TAGS.c.name == _param("f_tag", v["f_tag"], TAGS.c.name),
                TAGS.c.deleted_at.is_(None),
            )
            .correlate(LEADS)
        )
    if "f_q" in v:
        q = _param("f_q", v["f_q"], LEADS.c.name)
        options = [
            func.lower(LEADS.c.name).like(q, escape="\\"),
            LEADS.c.email.like(q, "\\"),
        ]
        if "f_digits" in v:
            digits = _param("f_digits", v["f_digits"], LEADS.c.phone_e164)
            options.append(LEADS.c.phone_e164.like(digits, escape="\\"))
            options.append(LEADS.c.phone_alt.like(digits, escape="\\"))
        found.append(or_(*options))
    if "f_due_before" in v:
        found.append(
            LEADS.c.next_follow_up_at
            < _param("f_due_before", v["f_due_before"], LEADS.c.next_follow_up_at)
        )
    if _UNASSIGNED in v:
        found.append(LEADS.c.assigned_to.is_(None))
    if "f_assigned_to" in v:
        found.append(LEADS.c.assigned_to == _param("f_assigned_to", v["f_assigned_to"], LEADS.c.id))
    if "f_source" in v:
        found.append(LEADS.c.source == _param("f_source", v["f_source"], LEADS.c.source))
    if "f_pool" in v:
        found.append(LEADS.c.owning_sales_head_id == _param("f_pool", v["f_pool"], LEADS.c.id))
    if "f_created_from" in v:
        found.append(
            LEADS.c.created_at >= _param("f_created_from", v["f_created_from"], LEADS.c.created_at)
        )
    if "f_created_before" in v:
        found.append(
            LEADS.c.created_at
            < _param("f_created_before", v["f_created_before"], LEADS.c.created_at)
        )
    return found


def _capped_count(condition: ColumnElement[bool], cap: int) -> Select[Any]:
    """How many leads match, counting no further than ``cap`` + 1: walked in the list's index
    order (pool or assignee, status, created_at), a pool of 200,000 costs what one of ``cap``
    does."""
    capped = (
        select(LEADS.c.id)
        .where(condition)
        .order_by(LEADS.c.created_at.desc())
        .limit(bindparam("count_limit", cap + 1))
    ).subquery()
    return select(func.count()).select_from(capped)


def _to_leads(rows: Sequence[RowMapping]) -> list[Lead]:
    """Leads from rows of ``_SELECT_LEADS`` (extra columns are ignored)."""
    return msgspec.convert(
        [{**row, "tags": sorted(row["tags"].split(",")) if row["tags"] else []} for row in rows],
        list[Lead],
    )


def _rows_to_leads(names: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[Lead]:
    """Leads from plain rows of ``_SELECT_LEADS`` with these column names (the list's path:
    one dict per row, no ``RowMapping``)."""
    found = [dict(zip(names, row, strict=False)) for row in rows]
    for row in found:
        tags = row["tags"]
        row["tags"] = sorted(tags.split(",")) if tags else []
    return msgspec.convert(found, list[Lead])


def where(scope: LeadScope, flt: LeadFilter | None = None) -> ColumnElement[bool]:
    return and_(
        LEADS.c.deleted_at.is_(None), scope_clause(scope), *filter_clauses(flt or LeadFilter())
    )


_NEWEST_FIRST = (LEADS.c.created_at.desc(), LEADS.c.id.desc())
_PageShape = tuple[ScopeKind, bool, tuple[str, ...], bool, bool]
_PAGE_STATEMENTS: dict[_PageShape, tuple[Select[Any], frozenset[str]]] = {}
"""The list's statements, built once per shape (scope kind, filters present, cursor or offset,
with or without the count) with the names of their parameters: a request binds its values only,
and SQLAlchemy's cache key of a statement object is computed once. Every named parameter must
be bound by the request (``SqlLeadStore.page`` checks): a statement shared by many callers never
runs with a value left over from the one it was built for."""


def _page_statement(
    shape: _PageShape, scope: LeadScope, flt: LeadFilter, values: dict[str, Any]
) -> tuple[Select[Any], frozenset[str]]:
    built = _PAGE_STATEMENTS.get(shape)
    if built is not None:
        return built
    _, _, _, keyset, counted = shape
    condition = and_(
        LEADS.c.deleted_at.is_(None), scope_clause(scope), *filter_clauses(flt, values)
    )
    stmt = _SELECT_LEADS
    if counted:
        # The capped total rides along as one more column (PostgreSQL and SQLite evaluate an
        # uncorrelated scalar subquery once): one round trip for the page and its count.
        stmt = stmt.add_columns(
            _capped_count(condition, COUNT_CAP).scalar_subquery().label("total_rows")
        )
    stmt = stmt.where(condition)
    if keyset:
        stmt = stmt.where(
            tuple_(LEADS.c.created_at, LEADS.c.id)
            < tuple_(
                bindparam("after_at", type_=LEADS.c.created_at.type),
                bindparam("after_id", type_=LEADS.c.id.type),
            )
        )
    else:
        stmt = stmt.offset(bindparam("offset", 0))
    stmt = stmt.order_by(*_NEWEST_FIRST).limit(bindparam("limit", 1))
    named = frozenset(
        node.key
        for node in visitors.iterate(stmt)
        if isinstance(node, BindParameter) and not node.unique
    )
    if len(_PAGE_STATEMENTS) < 512:  # shapes are few; a bound keeps a surprise from growing it
        _PAGE_STATEMENTS[shape] = (stmt, named)
    return stmt, named


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

    async def page(
        self,
        scope: LeadScope,
        flt: LeadFilter,
        req: PageRequest,
        *,
        after: tuple[datetime, uuid.UUID] | None = None,
        count: bool = True,
    ) -> LeadSlice:
        values = filter_values(flt)
        shape: _PageShape = (
            scope.kind,
            scope.read_all_pools,
            tuple(values),
            after is not None,
            count,
        )
        stmt, named = _page_statement(shape, scope, flt, values)
        params = {**scope_values(scope), **values, "limit": req.page_size + 1}
        params.pop(_UNASSIGNED, None)
        if after is not None:
            params["after_at"], params["after_id"] = after
        else:
            params["offset"] = req.offset
        if count:
            params["count_limit"] = COUNT_CAP + 1
        if not named <= params.keys():
            raise RuntimeError(f"lead list: unbound parameters {sorted(named - params.keys())}")
        rows: Sequence[Sequence[Any]] | None = await fetch_page(self._s, shape, stmt, params)
        if rows is not None:
            names = list(rows[0].keys()) if rows else []  # type: ignore[attr-defined]
        else:
            result = await (await self._read_connection()).execute(stmt, params)
            names, rows = list(result.keys()), result.all()
        leads = _rows_to_leads(names, rows)
        if not count:
            return LeadSlice(leads)
        # A page past the end has no row to carry the count.
        total = int(rows[0][-1]) if rows else await self._count(where(scope, flt), COUNT_CAP)
        return LeadSlice(leads, min(total, COUNT_CAP), total > COUNT_CAP)

    async def _read_connection(self) -> AsyncConnection:
        """The session's connection for a read of one statement: when it is the unit's first,
        without a transaction (no BEGIN and ROLLBACK round trips around a single SELECT, which
        sees one snapshot of its own); otherwise the transaction's (also when the session is
        bound to a connection whose transaction it joins, as the tests' sessions are)."""
        if self._s.in_transaction() or not isinstance(self._s.bind, AsyncEngine):
            return await self._s.connection()
        return await self._s.connection(execution_options={"isolation_level": "AUTOCOMMIT"})

    async def _count(self, condition: ColumnElement[bool], cap: int) -> int:
        return int(
            (
                await self._s.execute(_capped_count(condition, cap), {"count_limit": cap + 1})
            ).scalar_one()
        )

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
