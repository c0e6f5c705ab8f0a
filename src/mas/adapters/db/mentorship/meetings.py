"""The meetings part's repository on SQLAlchemy Core (SQLite and PostgreSQL alike).

``move`` is the only writer of a slot's status: ``UPDATE … WHERE id AND status AND version
RETURNING``. On PostgreSQL a second transaction racing for the same row waits for the first
and then re-reads the row, finds the status moved and updates nothing.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any, cast

import msgspec
from sqlalchemy import Table, and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mas.adapters.db.identity.tables import UserRow
from mas.adapters.db.mentorship.meetings_tables import (
    AvailabilityRequestRow,
    SlotFeedbackRow,
    SlotRow,
)
from mas.core.mentorship.meetings.model import (
    BOOKED,
    LIVE,
    AvailabilityRequest,
    Feedback,
    RequestStatus,
    Slot,
    SlotChange,
    SlotStatus,
)
from mas.core.mentorship.meetings.ports import Person
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.uow import DuplicateKey

SLOTS = cast(Table, SlotRow.__table__)
USERS = cast(Table, UserRow.__table__)
FEEDBACK = cast(Table, SlotFeedbackRow.__table__)
REQUESTS = cast(Table, AvailabilityRequestRow.__table__)
PENDING = RequestStatus.PENDING.value
FEEDBACK_FIELDS = [FEEDBACK.c[name] for name in Feedback.__struct_fields__]
FIELDS = [SLOTS.c[name] for name in Slot.__struct_fields__]
LIVE_VALUES = [s.value for s in LIVE]
BOOKED_VALUES = [s.value for s in BOOKED]
DUE_VALUES = [SlotStatus.OPEN.value, SlotStatus.TENTATIVE.value]
STARTED_UNDECIDED = SlotStatus.CANCELLATION_REQUESTED.value


def _slot(row: Any) -> Slot:
    return msgspec.convert(dict(row), Slot)


def _values(slot: Slot) -> dict[str, Any]:
    return _values_of(slot)


def _values_of(item: msgspec.Struct) -> dict[str, Any]:
    values = {name: getattr(item, name) for name in item.__struct_fields__}
    return {k: v.value if isinstance(v, enum.Enum) else v for k, v in values.items()}


class SqlSlotRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add_many(self, slots: list[Slot]) -> None:
        if not slots:
            return
        try:
            await self._s.execute(insert(SLOTS), [_values(s) for s in slots])
        except IntegrityError:
            raise DuplicateKey("a live slot of this mentor starts at the same time") from None

    async def get(self, slot_id: uuid.UUID) -> Slot | None:
        row = (await self._s.execute(select(*FIELDS).where(SLOTS.c.id == slot_id))).first()
        return _slot(row._mapping) if row else None

    async def live_between(
        self, mentor_id: uuid.UUID, start: datetime, end: datetime
    ) -> list[Slot]:
        rows = await self._s.execute(
            select(*FIELDS)
            .where(
                SLOTS.c.mentor_id == mentor_id,
                SLOTS.c.status.in_(LIVE_VALUES),
                SLOTS.c.start_date_time < end,
                SLOTS.c.end_date_time > start,
            )
            .order_by(SLOTS.c.start_date_time)
        )
        return [_slot(r) for r in rows.mappings()]

    async def booked_overlapping(
        self, student_id: uuid.UUID, start: datetime, end: datetime, other_than: uuid.UUID
    ) -> bool:
        found = await self._s.scalar(
            select(SLOTS.c.id)
            .where(
                SLOTS.c.student_id == student_id,
                SLOTS.c.id != other_than,
                SLOTS.c.status.in_(BOOKED_VALUES),
                SLOTS.c.start_date_time < end,
                SLOTS.c.end_date_time > start,
            )
            .limit(1)
        )
        return found is not None

    async def move(
        self,
        slot_id: uuid.UUID,
        current: SlotStatus,
        version: int,
        target: SlotStatus,
        change: SlotChange,
        now: datetime,
    ) -> Slot | None:
        values: dict[str, Any] = {
            name: getattr(change, name)
            for name in SlotChange.__struct_fields__
            if name != "clear_nonce" and getattr(change, name) is not None
        }
        if "expiry_reason" in values:
            values["expiry_reason"] = values["expiry_reason"].value
        if change.clear_nonce:
            values["email_action_nonce"] = None
        values.update(status=target.value, version=version + 1, updated_at=now)
        if target is not SlotStatus.OPEN:
            values["is_available"] = False
        row = (
            await self._s.execute(
                update(SLOTS)
                .where(
                    SLOTS.c.id == slot_id,
                    SLOTS.c.status == current.value,
                    SLOTS.c.version == version,
                )
                .values(**values)
                .returning(*FIELDS)
            )
        ).first()
        return _slot(row._mapping) if row else None

    async def delete_open(self, mentor_id: uuid.UUID, slot_ids: list[uuid.UUID]) -> list[uuid.UUID]:
        rows = await self._s.execute(
            delete(SLOTS)
            .where(
                SLOTS.c.mentor_id == mentor_id,
                SLOTS.c.id.in_(slot_ids),
                SLOTS.c.status == SlotStatus.OPEN.value,
            )
            .returning(SLOTS.c.id)
        )
        return [r[0] for r in rows]

    async def of_mentor(
        self,
        mentor_id: uuid.UUID,
        statuses: list[SlotStatus] | None,
        starting_after: datetime | None,
        req: PageRequest,
    ) -> Page[Slot]:
        where = [SLOTS.c.mentor_id == mentor_id]
        if statuses is not None:
            where.append(SLOTS.c.status.in_([s.value for s in statuses]))
        if starting_after is not None:
            where.append(SLOTS.c.start_date_time > starting_after)
        return await self._page(and_(*where), SLOTS.c.start_date_time.asc(), req)

    async def of_user(
        self,
        user_id: uuid.UUID,
        as_mentor: bool,
        status: SlotStatus | None,
        start_from: datetime | None,
        start_to: datetime | None,
        req: PageRequest,
    ) -> Page[Slot]:
        whose = SLOTS.c.student_id == user_id
        if as_mentor:
            whose = or_(whose, and_(SLOTS.c.mentor_id == user_id, SLOTS.c.student_id.is_not(None)))
        where = [whose]
        if status is not None:
            where.append(SLOTS.c.status == status.value)
        if start_from is not None:
            where.append(SLOTS.c.start_date_time >= start_from)
        if start_to is not None:
            where.append(SLOTS.c.start_date_time < start_to)
        return await self._page(and_(*where), SLOTS.c.start_date_time.desc(), req)

    async def due(self, now: datetime, ended_before: datetime, limit: int) -> list[Slot]:
        rows = await self._s.execute(
            select(*FIELDS)
            .where(
                or_(
                    and_(
                        SLOTS.c.start_date_time <= now,
                        SLOTS.c.status.in_([*DUE_VALUES, STARTED_UNDECIDED]),
                    ),
                    and_(
                        SLOTS.c.end_date_time <= ended_before,
                        SLOTS.c.status == SlotStatus.CONFIRMED.value,
                    ),
                )
            )
            .order_by(SLOTS.c.start_date_time, SLOTS.c.id)
            .limit(limit)
        )
        return [_slot(r) for r in rows.mappings()]

    async def person(self, user_id: uuid.UUID) -> Person | None:
        row = (
            await self._s.execute(
                select(
                    USERS.c.id,
                    USERS.c.email,
                    USERS.c.full_name,
                    USERS.c.role,
                    USERS.c.is_super_mentor,
                ).where(USERS.c.id == user_id)
            )
        ).first()
        if row is None:
            return None
        name = row.full_name or row.email.split("@")[0]
        return Person(
            id=row.id,
            email=row.email,
            name=name,
            role=row.role,
            is_super_mentor=bool(row.is_super_mentor),
        )

    async def admins(self) -> list[Person]:
        rows = await self._s.execute(
            select(USERS.c.id, USERS.c.email, USERS.c.full_name, USERS.c.role)
            .where(USERS.c.role.in_(["ADMIN", "SUPERADMIN"]), USERS.c.deleted_at.is_(None))
            .order_by(USERS.c.id)
        )
        return [
            Person(id=r.id, email=r.email, name=r.full_name or r.email, role=r.role) for r in rows
        ]

    async def _page(self, where: Any, order: Any, req: PageRequest) -> Page[Slot]:
        total = await self._s.scalar(select(func.count()).select_from(SLOTS).where(where))
        rows = await self._s.execute(
            select(*FIELDS)
            .where(where)
            .order_by(order, SLOTS.c.id)
            .offset(req.offset)
            .limit(req.page_size)
        )
        return Page(
            items=[_slot(r) for r in rows.mappings()],
            total=total or 0,
            page=req.page,
            page_size=req.page_size,
        )


class SqlSlotFeedbackRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(self, feedback: Feedback) -> None:
        values = _values_of(feedback)
        values["updated_at"] = feedback.created_at
        try:
            async with self._s.begin_nested():
                await self._s.execute(insert(FEEDBACK).values(**values))
        except IntegrityError:
            raise DuplicateKey("this side of the meeting gave feedback before") from None

    async def of_slot(self, slot_id: uuid.UUID) -> list[Feedback]:
        rows = await self._s.execute(
            select(*FEEDBACK_FIELDS)
            .where(FEEDBACK.c.slot_id == slot_id)
            .order_by(FEEDBACK.c.created_at, FEEDBACK.c.id)
        )
        return [msgspec.convert(dict(r), Feedback) for r in rows.mappings()]


class SqlAvailabilityRequestRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(self, request: AvailabilityRequest) -> None:
        values = _values_of(request)
        values["updated_at"] = request.created_at
        await self._s.execute(insert(REQUESTS).values(**values))

    async def pending_of(self, student_id: uuid.UUID) -> int:
        found = await self._s.scalar(
            select(func.count())
            .select_from(REQUESTS)
            .where(REQUESTS.c.student_id == student_id, REQUESTS.c.status == PENDING)
        )
        return int(found or 0)

    async def fulfil(self, mentor_id: uuid.UUID, now: datetime) -> int:
        return await self._resolve(REQUESTS.c.mentor_id == mentor_id, RequestStatus.FULFILLED, now)

    async def expire(self, created_before: datetime, now: datetime) -> int:
        return await self._resolve(
            REQUESTS.c.created_at < created_before, RequestStatus.EXPIRED, now
        )

    async def _resolve(self, where: Any, target: RequestStatus, now: datetime) -> int:
        done = await self._s.execute(
            update(REQUESTS)
            .where(where, REQUESTS.c.status == PENDING)
            .values(status=target.value, resolved_at=now, updated_at=now)
            .returning(REQUESTS.c.id)
        )
        return len(done.all())
