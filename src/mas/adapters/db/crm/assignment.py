"""CRM assignment on SQLAlchemy: profiles, teams, slot writes on leads, bulk requests, targets.

Bulk paths are set-based: slot writes are one UPDATE per (slot, assignee) group, history rows and
activities one executemany each, id lists cut into chunks of ``_IN`` for the ``IN`` clause.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any

import msgspec
from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    distinct,
    func,
    insert,
    or_,
    select,
    union,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mas.adapters.db.crm.tables import (
    BulkAssignmentRequestRow,
    DailyTargetActualRow,
    DailyTargetRow,
    LeadActivityRow,
    LeadAssignmentRow,
    LeadIntakeRow,
    LeadOwnershipTransferRow,
    RawLeadRow,
    SalesHeadProfileRow,
    SalesTeamMemberRow,
    SystemConfigRow,
)
from mas.adapters.db.identity.tables import UserRow
from mas.core.crm.assignment_model import (
    Assignment,
    BulkRequest,
    LeadSlots,
    OwnershipTransfer,
    Person,
    RequestStatus,
    SalesHeadProfile,
    Slot,
    SlotChange,
    TeamMember,
)
from mas.core.crm.model import OPEN, Activity, ActivityType, LeadStatus
from mas.core.crm.ports.assignment import StoredConfig
from mas.core.crm.targets_model import COUNTED_TYPES, ActivityFact, Actuals, DailyTarget
from mas.core.identity.policy import Role
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.uow import DuplicateKey

_IN = 500
_OPEN = sorted(s.value for s in OPEN)
_LIVE = RawLeadRow.deleted_at.is_(None)
_SLOT_COLUMN = {Slot.FIRST_LINE: "assigned_to", Slot.SECOND_LINE: "assigned_counsellor"}
_TARGET_NUMBERS = (
    "calls_target",
    "connected_calls_target",
    "follow_ups_target",
    "interested_target",
    "conversions_target",
    "revenue_target_paise",
)
_ACTUAL_NUMBERS = (
    "calls_done",
    "connected_calls",
    "follow_ups_done",
    "moved_to_interested",
    "conversions",
    "revenue_paise",
)


def _chunks(ids: Sequence[uuid.UUID], size: int = _IN) -> Iterator[list[uuid.UUID]]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value.value if hasattr(value, "value") else value


def _request_values(r: BulkRequest) -> dict[str, Any]:
    values = {f: getattr(r, f) for f in r.__struct_fields__}
    for name in ("lead_ids", "assignee_ids", "explicit_map", "slot", "strategy", "status"):
        values[name] = _plain(values[name])
    return values


def _profile_values(p: SalesHeadProfile) -> dict[str, Any]:
    values = {f: getattr(p, f) for f in p.__struct_fields__}
    values["assignment_strategy"] = p.assignment_strategy.value
    return values


def _to_member(row: SalesTeamMemberRow, name: str | None = None) -> TeamMember:
    member = msgspec.convert(row, TeamMember, from_attributes=True)
    member.name = name or ""
    return member


def _to_slots(row: Any) -> LeadSlots:
    return LeadSlots(
        id=row.id,
        status=LeadStatus(row.status),
        owning_sales_head_id=row.owning_sales_head_id,
        assigned_to=row.assigned_to,
        assigned_counsellor=row.assigned_counsellor,
        deleted=row.deleted_at is not None,
    )


_SLOT_COLUMNS = (
    RawLeadRow.id,
    RawLeadRow.status,
    RawLeadRow.owning_sales_head_id,
    RawLeadRow.assigned_to,
    RawLeadRow.assigned_counsellor,
    RawLeadRow.deleted_at,
)


class SqlAssignmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    @property
    def _postgres(self) -> bool:
        bind = self._s.bind
        return bind is not None and bind.dialect.name == "postgresql"

    async def _upsert(
        self, table: Table, rows: list[dict[str, Any]], keys: list[str], changing: list[str]
    ) -> None:
        if not rows:
            return
        dialect = postgresql if self._postgres else sqlite
        stmt = dialect.insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=keys, set_={name: stmt.excluded[name] for name in changing}
        )
        await self._s.execute(stmt, rows)

    # --- SystemConfig -------------------------------------------------------------------------

    async def config_value(self, key: str) -> StoredConfig | None:
        row = (
            await self._s.execute(select(SystemConfigRow).where(SystemConfigRow.key == key))
        ).scalar_one_or_none()
        return StoredConfig(row.value, row.updated_at, row.updated_by) if row else None

    async def set_config_value(self, key: str, value: Any, by: uuid.UUID, now: datetime) -> None:
        row = {
            "id": uuid7(),
            "key": key,
            "value": value,
            "updated_by": by,
            "created_at": now,
            "updated_at": now,
        }
        await self._upsert(
            SystemConfigRow.__table__, [row], ["key"], ["value", "updated_by", "updated_at"]
        )

    # --- people, profiles, teams --------------------------------------------------------------

    async def people(self, ids: list[uuid.UUID]) -> dict[uuid.UUID, Person]:
        out: dict[uuid.UUID, Person] = {}
        for chunk in _chunks(list(dict.fromkeys(ids))):
            rows = await self._s.execute(
                select(
                    UserRow.id,
                    UserRow.email,
                    UserRow.role,
                    UserRow.full_name,
                    UserRow.deleted_at,
                    UserRow.is_blocked,
                ).where(UserRow.id.in_(chunk))
            )
            for r in rows:
                out[r.id] = Person(
                    id=r.id,
                    email=r.email,
                    role=Role(r.role),
                    name=r.full_name,
                    usable=r.deleted_at is None and not r.is_blocked,
                )
        return out

    async def profile(self, user_id: uuid.UUID, *, lock: bool = False) -> SalesHeadProfile | None:
        stmt = select(SalesHeadProfileRow).where(SalesHeadProfileRow.user_id == user_id)
        if lock:
            stmt = stmt.with_for_update()
        row = (
            await self._s.execute(stmt.execution_options(populate_existing=True))
        ).scalar_one_or_none()
        return msgspec.convert(row, SalesHeadProfile, from_attributes=True) if row else None

    async def profiles(self) -> list[SalesHeadProfile]:
        rows = await self._s.execute(
            select(SalesHeadProfileRow).order_by(SalesHeadProfileRow.display_name)
        )
        return [msgspec.convert(r, SalesHeadProfile, from_attributes=True) for r in rows.scalars()]

    async def add_profile(self, profile: SalesHeadProfile) -> None:
        try:
            async with self._s.begin_nested():
                await self._s.execute(
                    insert(SalesHeadProfileRow).values(id=uuid7(), **_profile_values(profile))
                )
        except IntegrityError:
            raise DuplicateKey(f"sales head profile {profile.user_id}") from None

    async def save_profile(self, profile: SalesHeadProfile) -> None:
        values = _profile_values(profile)
        values.pop("created_at")
        await self._s.execute(
            update(SalesHeadProfileRow)
            .where(SalesHeadProfileRow.user_id == profile.user_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )

    def _members_query(self) -> Any:
        return select(SalesTeamMemberRow, func.coalesce(UserRow.full_name, UserRow.email)).join(
            UserRow, UserRow.id == SalesTeamMemberRow.user_id
        )

    async def member(self, member_id: uuid.UUID) -> TeamMember | None:
        row = (
            await self._s.execute(
                self._members_query()
                .where(SalesTeamMemberRow.id == member_id)
                .execution_options(populate_existing=True)
            )
        ).one_or_none()
        return _to_member(row[0], row[1]) if row else None

    async def membership_of(self, user_id: uuid.UUID) -> TeamMember | None:
        row = (
            await self._s.execute(
                self._members_query()
                .where(SalesTeamMemberRow.user_id == user_id, SalesTeamMemberRow.active.is_(True))
                .execution_options(populate_existing=True)
            )
        ).one_or_none()
        return _to_member(row[0], row[1]) if row else None

    async def members(self, head_id: uuid.UUID | None, *, active_only: bool) -> list[TeamMember]:
        stmt = self._members_query().order_by(SalesTeamMemberRow.joined_at, SalesTeamMemberRow.id)
        if head_id is not None:
            stmt = stmt.where(SalesTeamMemberRow.sales_head_id == head_id)
        if active_only:
            stmt = stmt.where(SalesTeamMemberRow.active.is_(True))
        rows = await self._s.execute(stmt.execution_options(populate_existing=True))
        return [_to_member(r[0], r[1]) for r in rows]

    async def add_member(self, member: TeamMember) -> None:
        values = {f: getattr(member, f) for f in member.__struct_fields__ if f != "name"}
        values["member_role"] = member.member_role.value
        try:
            async with self._s.begin_nested():
                await self._s.execute(insert(SalesTeamMemberRow).values(**values))
        except IntegrityError:
            raise DuplicateKey(f"active membership of {member.user_id}") from None

    async def save_member(self, member: TeamMember) -> None:
        await self._s.execute(
            update(SalesTeamMemberRow)
            .where(SalesTeamMemberRow.id == member.id)
            .values(
                member_role=member.member_role.value,
                daily_capacity=member.daily_capacity,
                available=member.available,
                active=member.active,
                left_at=member.left_at,
            )
            .execution_options(synchronize_session=False)
        )

    async def open_lead_counts(self, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
        out: dict[uuid.UUID, int] = {}
        for chunk in _chunks(user_ids):
            live_open = and_(_LIVE, RawLeadRow.status.in_(_OPEN))
            held = union(
                select(RawLeadRow.id, RawLeadRow.assigned_to.label("holder")).where(
                    live_open, RawLeadRow.assigned_to.in_(chunk)
                ),
                select(RawLeadRow.id, RawLeadRow.assigned_counsellor.label("holder")).where(
                    live_open, RawLeadRow.assigned_counsellor.in_(chunk)
                ),
            ).subquery()
            rows = await self._s.execute(
                select(held.c.holder, func.count()).group_by(held.c.holder)
            )
            out.update({r[0]: int(r[1]) for r in rows})
        return out

    async def assigned_since(
        self, user_ids: list[uuid.UUID], since: datetime
    ) -> dict[uuid.UUID, int]:
        out: dict[uuid.UUID, int] = {}
        for chunk in _chunks(user_ids):
            rows = await self._s.execute(
                select(LeadAssignmentRow.assignee_id, func.count())
                .where(
                    LeadAssignmentRow.assignee_id.in_(chunk),
                    LeadAssignmentRow.slot == Slot.FIRST_LINE.value,
                    LeadAssignmentRow.created_at >= since,
                )
                .group_by(LeadAssignmentRow.assignee_id)
            )
            out.update({r[0]: int(r[1]) for r in rows})
        return out

    # --- leads --------------------------------------------------------------------------------

    async def lead_slots(
        self, lead_ids: list[uuid.UUID], *, lock: bool = False
    ) -> dict[uuid.UUID, LeadSlots]:
        out: dict[uuid.UUID, LeadSlots] = {}
        for chunk in _chunks(sorted(set(lead_ids))):  # sorted: concurrent lockers agree on order
            stmt = select(*_SLOT_COLUMNS).where(RawLeadRow.id.in_(chunk))
            if lock:
                stmt = stmt.with_for_update()
            out.update({r.id: _to_slots(r) for r in await self._s.execute(stmt)})
        return out

    async def open_leads_held(self, user_id: uuid.UUID) -> list[LeadSlots]:
        stmt = (
            select(*_SLOT_COLUMNS)
            .where(
                _LIVE,
                RawLeadRow.status.in_(_OPEN),
                or_(RawLeadRow.assigned_to == user_id, RawLeadRow.assigned_counsellor == user_id),
            )
            .order_by(RawLeadRow.id)
            .with_for_update()
        )
        return [_to_slots(r) for r in await self._s.execute(stmt)]

    def _bump(self, now: datetime) -> dict[str, Any]:
        return {"version": RawLeadRow.version + 1, "updated_at": now}

    async def apply_slot_changes(self, changes: list[SlotChange], now: datetime) -> None:
        groups: dict[tuple[Slot, uuid.UUID | None], list[uuid.UUID]] = defaultdict(list)
        for change in changes:
            groups[(change.slot, change.assignee_id)].append(change.lead_id)
        for (slot, assignee), ids in groups.items():
            for chunk in _chunks(ids):
                await self._s.execute(
                    update(RawLeadRow)
                    .where(RawLeadRow.id.in_(chunk))
                    .values({_SLOT_COLUMN[slot]: assignee, **self._bump(now)})
                    .execution_options(synchronize_session=False)
                )

    async def claim_first_line(
        self, picks: list[tuple[uuid.UUID, uuid.UUID]], now: datetime
    ) -> set[uuid.UUID]:
        groups: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
        for lead_id, assignee in picks:
            groups[assignee].append(lead_id)
        claimed: set[uuid.UUID] = set()
        for assignee, ids in groups.items():
            for chunk in _chunks(ids):
                result = await self._s.execute(
                    update(RawLeadRow)
                    .where(RawLeadRow.id.in_(chunk), RawLeadRow.assigned_to.is_(None), _LIVE)
                    .values(assigned_to=assignee, **self._bump(now))
                    .returning(RawLeadRow.id)
                    .execution_options(synchronize_session=False)
                )
                claimed.update(result.scalars())
        return claimed

    async def unassigned_intake_leads(
        self,
        head_id: uuid.UUID,
        channel: str,
        after: uuid.UUID | None,
        limit: int,
        *,
        ref_prefix: str | None = None,
        since: datetime | None = None,
    ) -> list[uuid.UUID]:
        stmt = (
            select(RawLeadRow.id)
            .join(LeadIntakeRow, LeadIntakeRow.raw_lead_id == RawLeadRow.id)
            .where(
                LeadIntakeRow.channel == channel,
                LeadIntakeRow.outcome == "CREATED",
                RawLeadRow.owning_sales_head_id == head_id,
                RawLeadRow.assigned_to.is_(None),
                RawLeadRow.status.in_(_OPEN),
                _LIVE,
            )
            .distinct()
            .order_by(RawLeadRow.id)
            .limit(limit)
        )
        if ref_prefix is not None:
            stmt = stmt.where(LeadIntakeRow.channel_ref.startswith(ref_prefix, autoescape=True))
        if since is not None:
            stmt = stmt.where(LeadIntakeRow.created_at >= since)
        if after is not None:
            stmt = stmt.where(RawLeadRow.id > after)
        return list((await self._s.execute(stmt)).scalars())

    async def move_to_pool(
        self, lead_ids: list[uuid.UUID], head_id: uuid.UUID, clear_assignees: bool, now: datetime
    ) -> None:
        values: dict[str, Any] = {"owning_sales_head_id": head_id, **self._bump(now)}
        if clear_assignees:
            values.update(assigned_to=None, assigned_counsellor=None)
        for chunk in _chunks(lead_ids):
            await self._s.execute(
                update(RawLeadRow)
                .where(RawLeadRow.id.in_(chunk))
                .values(values)
                .execution_options(synchronize_session=False)
            )

    async def add_assignments(self, rows: list[Assignment]) -> None:
        if rows:
            await self._s.execute(
                insert(LeadAssignmentRow),
                [
                    {
                        "id": r.id,
                        "raw_lead_id": r.raw_lead_id,
                        "slot": r.slot.value,
                        "assignee_id": r.assignee_id,
                        "previous_assignee_id": r.previous_assignee_id,
                        "method": r.method.value,
                        "reason": r.reason,
                        "request_id": r.request_id,
                        "assigned_by": r.assigned_by,
                        "created_at": r.created_at,
                        "updated_at": r.created_at,
                    }
                    for r in rows
                ],
            )

    async def add_activities(self, rows: list[Activity]) -> None:
        if rows:
            await self._s.execute(
                insert(LeadActivityRow),
                [
                    {
                        "id": a.id,
                        "raw_lead_id": a.raw_lead_id,
                        "actor_id": a.actor_id,
                        "type": a.type.value,
                        "summary": a.summary,
                        "data": a.data,
                        "occurred_at": a.occurred_at,
                        "created_at": a.occurred_at,
                        "updated_at": a.occurred_at,
                    }
                    for a in rows
                ],
            )

    async def add_transfer(self, transfer: OwnershipTransfer) -> None:
        values = {f: getattr(transfer, f) for f in transfer.__struct_fields__}
        values["lead_ids"] = _plain(transfer.lead_ids)
        values["updated_at"] = transfer.created_at
        await self._s.execute(insert(LeadOwnershipTransferRow).values(**values))

    # --- bulk requests ------------------------------------------------------------------------

    async def add_request(self, request: BulkRequest) -> None:
        await self._s.execute(insert(BulkAssignmentRequestRow).values(**_request_values(request)))

    async def request(self, request_id: uuid.UUID, *, lock: bool = False) -> BulkRequest | None:
        stmt = select(BulkAssignmentRequestRow).where(BulkAssignmentRequestRow.id == request_id)
        if lock:
            stmt = stmt.with_for_update()
        row = (
            await self._s.execute(stmt.execution_options(populate_existing=True))
        ).scalar_one_or_none()
        return msgspec.convert(row, BulkRequest, from_attributes=True) if row else None

    async def save_request(self, request: BulkRequest) -> None:
        values = _request_values(request)
        for frozen in ("id", "created_at", "lead_ids", "assignee_ids", "explicit_map"):
            values.pop(frozen)
        await self._s.execute(
            update(BulkAssignmentRequestRow)
            .where(BulkAssignmentRequestRow.id == request.id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )

    async def requests_page(
        self, pool_head_id: uuid.UUID | None, status: RequestStatus | None, req: PageRequest
    ) -> Page[BulkRequest]:
        table = BulkAssignmentRequestRow
        conditions: list[ColumnElement[bool]] = []
        if pool_head_id is not None:
            conditions.append(table.pool_head_id == pool_head_id)
        if status is not None:
            conditions.append(table.status == status.value)
        where = and_(True, *conditions)
        total = (
            await self._s.execute(select(func.count()).select_from(table).where(where))
        ).scalar_one()
        columns = [c for c in table.__table__.c if c.name != "lead_ids"]
        rows = await self._s.execute(
            select(*columns)
            .where(where)
            .order_by(table.created_at.desc(), table.id.desc())
            .offset(req.offset)
            .limit(req.page_size)
        )
        # Column names are SQLAlchemy's str subclass; msgspec wants plain str keys.
        items = [
            msgspec.convert(
                {**{str(k): v for k, v in r._asdict().items()}, "lead_ids": []}, BulkRequest
            )
            for r in rows
        ]
        return Page(items=items, total=int(total), page=req.page, page_size=req.page_size)

    async def applied_leads(
        self, request_id: uuid.UUID, lead_ids: list[uuid.UUID]
    ) -> set[uuid.UUID]:
        found: set[uuid.UUID] = set()
        for chunk in _chunks(lead_ids):
            rows = await self._s.execute(
                select(LeadAssignmentRow.raw_lead_id).where(
                    LeadAssignmentRow.request_id == request_id,
                    LeadAssignmentRow.raw_lead_id.in_(chunk),
                )
            )
            found.update(rows.scalars())
        return found

    async def applied_per_assignee(self, request_id: uuid.UUID) -> dict[uuid.UUID, int]:
        rows = await self._s.execute(
            select(LeadAssignmentRow.assignee_id, func.count())
            .where(LeadAssignmentRow.request_id == request_id)
            .group_by(LeadAssignmentRow.assignee_id)
        )
        return {r[0]: int(r[1]) for r in rows if r[0] is not None}

    async def expire_pending(self, request_id: uuid.UUID, now: datetime) -> bool:
        table = BulkAssignmentRequestRow
        result = await self._s.execute(
            update(table)
            .where(
                table.id == request_id,
                table.status == RequestStatus.PENDING.value,
                table.expires_at <= now,
            )
            .values(status=RequestStatus.EXPIRED.value, decided_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def due_to_expire(self, now: datetime, limit: int) -> list[uuid.UUID]:
        table = BulkAssignmentRequestRow
        rows = await self._s.execute(
            select(table.id)
            .where(table.status == RequestStatus.PENDING.value, table.expires_at <= now)
            .order_by(table.expires_at)
            .limit(limit)
        )
        return list(rows.scalars())

    async def idle_requests(self, before: datetime, limit: int) -> list[BulkRequest]:
        table = BulkAssignmentRequestRow
        rows = await self._s.execute(
            select(table)
            .where(
                table.status.in_([RequestStatus.APPROVED.value, RequestStatus.APPLYING.value]),
                table.updated_at < before,
            )
            .order_by(table.updated_at)
            .limit(limit)
        )
        return [msgspec.convert(r, BulkRequest, from_attributes=True) for r in rows.scalars()]

    # --- targets ------------------------------------------------------------------------------

    async def upsert_targets(self, rows: list[DailyTarget]) -> None:
        await self._upsert(
            DailyTargetRow.__table__,
            [{f: getattr(r, f) for f in r.__struct_fields__} for r in rows],
            ["salesperson_id", "target_date"],
            [*_TARGET_NUMBERS, "set_by", "note", "updated_at"],
        )

    async def targets(
        self, person_ids: list[uuid.UUID] | None, start: date, end: date
    ) -> list[DailyTarget]:
        stmt = (
            select(DailyTargetRow)
            .where(DailyTargetRow.target_date >= start, DailyTargetRow.target_date <= end)
            .order_by(DailyTargetRow.target_date, DailyTargetRow.salesperson_id)
        )
        rows: list[DailyTargetRow] = []
        if person_ids is None:
            rows = list((await self._s.execute(stmt)).scalars())
        for chunk in _chunks(person_ids or []):
            found = await self._s.execute(stmt.where(DailyTargetRow.salesperson_id.in_(chunk)))
            rows.extend(found.scalars())
        out = [msgspec.convert(r, DailyTarget, from_attributes=True) for r in rows]
        return sorted(out, key=lambda t: (t.target_date, str(t.salesperson_id)))

    async def stored_actuals(
        self, person_ids: list[uuid.UUID] | None, start: date, end: date
    ) -> list[Actuals]:
        stmt = select(DailyTargetActualRow).where(
            DailyTargetActualRow.target_date >= start, DailyTargetActualRow.target_date <= end
        )
        rows: list[DailyTargetActualRow] = []
        if person_ids is None:
            rows = list((await self._s.execute(stmt)).scalars())
        for chunk in _chunks(person_ids or []):
            found = await self._s.execute(
                stmt.where(DailyTargetActualRow.salesperson_id.in_(chunk))
            )
            rows.extend(found.scalars())
        return [msgspec.convert(r, Actuals, from_attributes=True) for r in rows]

    async def upsert_actuals(self, rows: list[Actuals]) -> None:
        await self._upsert(
            DailyTargetActualRow.__table__,
            [
                {
                    **{f: getattr(r, f) for f in r.__struct_fields__},
                    "id": uuid7(),
                    "created_at": r.computed_at,
                    "updated_at": r.computed_at,
                }
                for r in rows
            ],
            ["salesperson_id", "target_date"],
            [*_ACTUAL_NUMBERS, "computed_at", "updated_at"],
        )

    async def activity_facts(
        self, actor_ids: list[uuid.UUID] | None, start: datetime, end: datetime
    ) -> list[ActivityFact]:
        table = LeadActivityRow
        stmt = select(
            table.actor_id, table.raw_lead_id, table.type, table.occurred_at, table.data
        ).where(
            table.type.in_([t.value for t in COUNTED_TYPES]),
            table.actor_id.is_not(None),
            table.occurred_at >= start,
            table.occurred_at < end,
        )
        batches = (
            [stmt]
            if actor_ids is None
            else [stmt.where(table.actor_id.in_(c)) for c in _chunks(actor_ids)]
        )
        facts: list[ActivityFact] = []
        for batch in batches:
            for r in await self._s.execute(batch):
                facts.append(
                    ActivityFact(
                        actor_id=r.actor_id,
                        raw_lead_id=r.raw_lead_id,
                        type=ActivityType(r.type),
                        occurred_at=r.occurred_at,
                        data=r.data or {},
                    )
                )
        return facts

    async def people_with_targets(self, day: date) -> list[uuid.UUID]:
        rows = await self._s.execute(
            select(distinct(DailyTargetRow.salesperson_id)).where(DailyTargetRow.target_date == day)
        )
        return list(rows.scalars())
