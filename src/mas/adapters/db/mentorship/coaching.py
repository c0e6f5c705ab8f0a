"""The coaching roster, the bookings' idempotency keys and the read models over ``slots``
(coaching lists, slot statistics) on SQLAlchemy Core, SQLite and PostgreSQL alike.

The statistics are three aggregate queries over the range (by status, the top mentors, by
day). A day is a date in the display zone: PostgreSQL converts each start with
``timezone(zone, start)`` (so a zone with summer time is exact); SQLite, which has no zone
data, shifts by the zone's offset at the range's start (exact for IST, which has no summer
time).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import Table, and_, case, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mas.adapters.db.identity.tables import UserRow
from mas.adapters.db.mentorship.coaching_tables import SlotBookingKeyRow, SuperMentorStudentRow
from mas.adapters.db.mentorship.meetings_tables import SlotRow
from mas.core.mentorship.meetings.model import (
    Assignment,
    BookingKey,
    DayCount,
    MeetingType,
    MentorCount,
    Slot,
    SlotCounts,
    SlotStatus,
    StatusCount,
)
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.uow import DuplicateKey

ROSTER = cast(Table, SuperMentorStudentRow.__table__)
KEYS = cast(Table, SlotBookingKeyRow.__table__)
SLOTS = cast(Table, SlotRow.__table__)
USERS = cast(Table, UserRow.__table__)
ASSIGNMENT_FIELDS = [ROSTER.c[name] for name in Assignment.__struct_fields__]
KEY_FIELDS = [KEYS.c[name] for name in BookingKey.__struct_fields__]
SLOT_FIELDS = [SLOTS.c[name] for name in Slot.__struct_fields__]


class SqlCoachingRoster:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def is_assigned(self, super_mentor_id: uuid.UUID, student_id: uuid.UUID) -> bool:
        found = await self._s.scalar(
            select(ROSTER.c.id).where(
                ROSTER.c.super_mentor_id == super_mentor_id, ROSTER.c.student_id == student_id
            )
        )
        return found is not None

    async def assign(self, assignment: Assignment) -> None:
        values = msgspec.structs.asdict(assignment)
        values.update(created_at=assignment.assigned_at, updated_at=assignment.assigned_at)
        try:
            async with self._s.begin_nested():
                await self._s.execute(insert(ROSTER).values(**values))
        except IntegrityError:
            raise DuplicateKey("the student is assigned to this super mentor already") from None

    async def unassign(self, super_mentor_id: uuid.UUID, student_id: uuid.UUID) -> bool:
        gone = await self._s.execute(
            delete(ROSTER)
            .where(ROSTER.c.super_mentor_id == super_mentor_id, ROSTER.c.student_id == student_id)
            .returning(ROSTER.c.id)
        )
        return gone.first() is not None

    async def students_of(self, super_mentor_id: uuid.UUID, req: PageRequest) -> Page[Assignment]:
        mine = ROSTER.c.super_mentor_id == super_mentor_id
        total = await self._s.scalar(select(func.count()).select_from(ROSTER).where(mine))
        rows = await self._s.execute(
            select(*ASSIGNMENT_FIELDS)
            .where(mine)
            .order_by(ROSTER.c.assigned_at.desc(), ROSTER.c.id)
            .offset(req.offset)
            .limit(req.page_size)
        )
        return Page(
            items=[msgspec.convert(dict(r), Assignment) for r in rows.mappings()],
            total=total or 0,
            page=req.page,
            page_size=req.page_size,
        )


class SqlBookingKeys:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def claim(self, key: BookingKey, now: datetime) -> BookingKey | None:
        same = and_(KEYS.c.student_id == key.student_id, KEYS.c.key == key.key)
        await self._s.execute(delete(KEYS).where(same, KEYS.c.expires_at <= now))
        values = msgspec.structs.asdict(key)
        values["updated_at"] = key.created_at
        try:
            async with self._s.begin_nested():
                await self._s.execute(insert(KEYS).values(**values))
        except IntegrityError:
            row = (await self._s.execute(select(*KEY_FIELDS).where(same))).first()
            if row is None:  # the holder's row lapsed and went between our two statements
                raise DuplicateKey("the key changed hands meanwhile") from None
            return msgspec.convert(dict(row._mapping), BookingKey)
        return None

    async def settle(self, student_id: uuid.UUID, key: str, slot_id: uuid.UUID) -> None:
        await self._s.execute(
            update(KEYS)
            .where(KEYS.c.student_id == student_id, KEYS.c.key == key)
            .values(slot_id=slot_id)
        )

    async def purge(self, now: datetime) -> int:
        gone = await self._s.execute(
            delete(KEYS).where(KEYS.c.expires_at <= now).returning(KEYS.c.id)
        )
        return len(gone.all())


class SqlSlotQueries:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def of_type(
        self,
        meeting_type: MeetingType,
        mentor_id: uuid.UUID | None,
        status: SlotStatus | None,
        req: PageRequest,
    ) -> Page[Slot]:
        where = [SLOTS.c.meeting_type == meeting_type.value]
        if mentor_id is not None:
            where.append(SLOTS.c.mentor_id == mentor_id)
        if status is not None:
            where.append(SLOTS.c.status == status.value)
        total = await self._s.scalar(select(func.count()).select_from(SLOTS).where(*where))
        rows = await self._s.execute(
            select(*SLOT_FIELDS)
            .where(*where)
            .order_by(SLOTS.c.start_date_time.desc(), SLOTS.c.id)
            .offset(req.offset)
            .limit(req.page_size)
        )
        return Page(
            items=[msgspec.convert(dict(r), Slot) for r in rows.mappings()],
            total=total or 0,
            page=req.page,
            page_size=req.page_size,
        )

    async def counts(self, since: datetime, until: datetime, zone: str, top: int) -> SlotCounts:
        window = and_(SLOTS.c.start_date_time >= since, SLOTS.c.start_date_time < until)
        statuses = dict(
            (
                await self._s.execute(
                    select(SLOTS.c.status, func.count()).where(window).group_by(SLOTS.c.status)
                )
            ).all()
        )
        by_status = [StatusCount(status=s, count=int(statuses.get(s.value, 0))) for s in SlotStatus]
        count = func.count().label("count")
        completed = func.sum(case((SLOTS.c.status == SlotStatus.COMPLETED.value, 1), else_=0))
        mentors = await self._s.execute(
            select(SLOTS.c.mentor_id, USERS.c.full_name, USERS.c.email, count, completed)
            .join(USERS, USERS.c.id == SLOTS.c.mentor_id)
            .where(window)
            .group_by(SLOTS.c.mentor_id, USERS.c.full_name, USERS.c.email)
            .order_by(count.desc(), SLOTS.c.mentor_id)
            .limit(top)
        )
        by_mentor = [
            MentorCount(
                mentor_id=mentor_id,
                name=name or email.split("@")[0],
                count=int(total),
                completed=int(done or 0),
            )
            for mentor_id, name, email, total, done in mentors.all()
        ]
        day = self._day(zone, since).label("day")
        days = await self._s.execute(
            select(day, func.count()).where(window).group_by(day).order_by(day)
        )
        by_day = [DayCount(day=_date(value), count=int(n)) for value, n in days.all()]
        return SlotCounts(
            total=sum(s.count for s in by_status),
            by_status=by_status,
            by_mentor=by_mentor,
            by_day=by_day,
        )

    def _day(self, zone: str, since: datetime) -> Any:
        if self._s.get_bind().dialect.name == "postgresql":
            return func.date(func.timezone(zone, SLOTS.c.start_date_time))
        offset = since.astimezone(ZoneInfo(zone)).utcoffset()
        minutes = int(offset.total_seconds() // 60) if offset is not None else 0
        return func.date(SLOTS.c.start_date_time, f"{minutes:+d} minutes")


def _date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))
