"""The mentors part's repositories: profiles with the public reads, and the statistics.

Every public read is one statement over ``mentor_stats ⋈ mentors ⋈ users``: the statistics
row exists for every profile (written with it), the display name is the account's
``full_name``, and *listed* means the profile's switch is on and the account is an EXPERT,
neither blocked nor deleted. The page's total rides along as an uncorrelated scalar subquery
(one round trip; PostgreSQL runs it once, as an init plan), so the page itself can still be
read off an index in order and stop after ``limit`` rows: the orders below end with the
columns of the indexes in ``mentors_tables``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    exists,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mas.adapters.db.identity.tables import UserRow
from mas.adapters.db.mentorship.mentors_tables import MentorRow, mentor_stats
from mas.core.identity.policy import Role
from mas.core.mentorship.mentors.model import (
    LeaderboardEntry,
    MentorCard,
    MentorFilter,
    MentorProfile,
    MentorSort,
    MentorStats,
)
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.uow import DuplicateKey

USERS = UserRow.__table__
MENTORS = MentorRow.__table__
STATS = mentor_stats

JOINED = STATS.join(MENTORS, MENTORS.c.user_id == STATS.c.mentor_id).join(
    USERS, USERS.c.id == STATS.c.mentor_id
)
LISTED = and_(
    MENTORS.c.is_listed.is_(True),
    USERS.c.role == Role.EXPERT.value,
    USERS.c.deleted_at.is_(None),
    USERS.c.is_blocked.is_(False),
)
BEST_RATED = (STATS.c.rating_order.desc(), STATS.c.mentor_id)
MOST_MEETS = (STATS.c.completed_meets.desc(), *BEST_RATED)
ORDERS: dict[MentorSort, tuple[Any, ...]] = {
    MentorSort.RATING: BEST_RATED,
    MentorSort.MEETS: MOST_MEETS,
    MentorSort.SLOTS: (STATS.c.open_future_slots.desc(), STATS.c.mentor_id),
    MentorSort.EXPERIENCE: (MENTORS.c.experience_years.desc(), MENTORS.c.user_id),
    MentorSort.ALPHABETICAL: (func.lower(USERS.c.full_name).asc().nulls_last(), STATS.c.mentor_id),
}

CARD = (
    STATS.c.mentor_id,
    MENTORS.c.id.label("profile_id"),
    USERS.c.full_name.label("name"),
    MENTORS.c.company,
    MENTORS.c.role,
    MENTORS.c.institute,
    MENTORS.c.description,
    MENTORS.c.category,
    MENTORS.c.sub_category,
    MENTORS.c.expertise,
    MENTORS.c.experience_years,
    MENTORS.c.image,
    STATS.c.open_future_slots.label("slots_left"),
    STATS.c.completed_meets,
    STATS.c.avg_rating,
    STATS.c.rating_count,
)
ENTRY = (
    STATS.c.mentor_id,
    USERS.c.full_name.label("name"),
    MENTORS.c.company,
    MENTORS.c.role,
    MENTORS.c.image,
    STATS.c.completed_meets,
    STATS.c.avg_rating,
    STATS.c.rating_count,
)
_CARD_FIELDS = [c.key for c in CARD]
_PROFILE_FIELDS = [
    "id",
    "user_id",
    "company",
    "role",
    "institute",
    "description",
    "category",
    "sub_category",
    "expertise",
    "experience_years",
    "image",
    "is_listed",
    "created_at",
    "updated_at",
]


def _card(row: Any) -> MentorCard:
    values = dict(zip(_CARD_FIELDS, row, strict=False))
    values["expertise"] = list(values["expertise"] or [])
    return MentorCard(**values)


def _entry(row: Any, rank: int | None) -> LeaderboardEntry:
    return LeaderboardEntry(
        rank=rank,
        mentor_id=row.mentor_id,
        name=row.name,
        company=row.company,
        role=row.role,
        image=row.image,
        completed_meets=row.completed_meets,
        avg_rating=row.avg_rating,
        rating_count=row.rating_count,
    )


def _profile(row: MentorRow) -> MentorProfile:
    values = {name: getattr(row, name) for name in _PROFILE_FIELDS}
    values["expertise"] = list(values["expertise"] or [])
    return MentorProfile(**values)


def _is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _expertise_matches(postgres: bool, wanted: Sequence[str]) -> ColumnElement[bool]:
    """Any of the profile's tags equals one of ``wanted`` (lower case), case-insensitively."""
    each = (
        func.jsonb_array_elements_text(MENTORS.c.expertise)
        if postgres
        else func.json_each(MENTORS.c.expertise)
    ).table_valued("value")
    return exists(
        select(literal(1)).select_from(each).where(func.lower(each.c.value).in_(list(wanted)))
    )


def _conditions(postgres: bool, flt: MentorFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [LISTED]
    if flt.search:
        where.append(func.lower(USERS.c.full_name).contains(flt.search, autoescape=True))
    if flt.companies:
        where.append(func.lower(MENTORS.c.company).in_(list(flt.companies)))
    if flt.expertise:
        where.append(_expertise_matches(postgres, flt.expertise))
    return where


class Shape:
    """A paged read: its columns, conditions and order; the statement (offset and limit bound
    per call) is built once per shape and kept, so that its cache key is computed once too."""

    def __init__(self, columns: tuple[Any, ...], where: list[Any], order: tuple[Any, ...]):
        self._columns, self._where, self._order = columns, where, order
        self._built: dict[bool, Select[Any]] = {}

    def count(self) -> Select[Any]:
        return select(func.count()).select_from(JOINED).where(*self._where)

    def statement(self, counted: bool) -> Select[Any]:
        found = self._built.get(counted)
        if found is None:
            found = select(*self._columns)
            if counted:
                found = found.add_columns(self.count().scalar_subquery().label("total"))
            found = (
                found.select_from(JOINED)
                .where(*self._where)
                .order_by(*self._order)
                .offset(bindparam("page_offset"))
                .limit(bindparam("page_limit"))
            )
            self._built[counted] = found
        return found


# The unfiltered reads every visitor starts from.
SHAPES: dict[str, Shape] = {
    "listed": Shape(CARD, [LISTED], ORDERS[MentorSort.ALPHABETICAL]),
    "leaderboard": Shape(ENTRY, [LISTED, STATS.c.completed_meets > 0], MOST_MEETS),
    **{sort: Shape(CARD, [LISTED], order) for sort, order in ORDERS.items()},
}


class SqlMentorRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def account_role(self, user_id: uuid.UUID) -> str | None:
        found = await self._s.scalar(
            select(USERS.c.role).where(USERS.c.id == user_id, USERS.c.deleted_at.is_(None))
        )
        return None if found is None else str(found)

    async def by_user(self, user_id: uuid.UUID) -> MentorProfile | None:
        row = await self._s.scalar(select(MentorRow).where(MentorRow.user_id == user_id))
        return _profile(row) if row is not None else None

    async def add(self, profile: MentorProfile) -> None:
        values = {name: getattr(profile, name) for name in _PROFILE_FIELDS}
        try:
            async with self._s.begin_nested():
                await self._s.execute(insert(MentorRow).values(**values))
        except IntegrityError:
            raise DuplicateKey(f"mentor profile of {profile.user_id}") from None

    async def save(self, profile: MentorProfile) -> None:
        values = {name: getattr(profile, name) for name in _PROFILE_FIELDS}
        for fixed in ("id", "user_id", "created_at", "is_listed"):
            values.pop(fixed)
        await self._s.execute(
            update(MentorRow)
            .where(MentorRow.id == profile.id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )

    async def set_listed(self, user_id: uuid.UUID, listed: bool, now: datetime) -> bool:
        result = await self._s.execute(
            update(MentorRow)
            .where(MentorRow.user_id == user_id)
            .values(is_listed=listed, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def _counted(
        self,
        shape: Shape,
        req: PageRequest,
        known_total: int | None,
    ) -> tuple[list[Any], int]:
        """The page's rows and the total: one statement (the count rides along as a scalar
        subquery unless ``known_total`` is given); a second only past the last page, where no
        row carries the count."""
        statement = shape.statement(counted=known_total is None)
        rows = (
            await self._s.execute(
                statement, {"page_offset": req.offset, "page_limit": req.page_size}
            )
        ).all()
        if known_total is not None:
            return rows, known_total
        if rows:
            return rows, int(rows[0].total)
        if req.page == 1:
            return rows, 0
        counted = await self._s.scalar(shape.count())
        return rows, int(counted or 0)

    async def _cards(
        self, shape: Shape, req: PageRequest, known_total: int | None
    ) -> Page[MentorCard]:
        rows, total = await self._counted(shape, req, known_total)
        return Page(
            items=[_card(row) for row in rows], total=total, page=req.page, page_size=req.page_size
        )

    async def listed(self, req: PageRequest, known_total: int | None) -> Page[MentorCard]:
        return await self._cards(SHAPES["listed"], req, known_total)

    async def discover(
        self, flt: MentorFilter, req: PageRequest, known_total: int | None
    ) -> Page[MentorCard]:
        if not (flt.search or flt.companies or flt.expertise):
            return await self._cards(SHAPES[flt.sort], req, known_total)
        where = _conditions(_is_postgres(self._s), flt)
        return await self._cards(Shape(CARD, where, ORDERS[flt.sort]), req, known_total)

    async def in_category(self, category: str, sub_category: str, limit: int) -> list[MentorCard]:
        rows = await self._s.execute(
            select(*CARD)
            .select_from(JOINED)
            .where(LISTED, MENTORS.c.category == category, MENTORS.c.sub_category == sub_category)
            .order_by(*BEST_RATED)
            .limit(limit)
        )
        return [_card(row) for row in rows]

    async def card(self, user_id: uuid.UUID) -> MentorCard | None:
        row = (
            await self._s.execute(
                select(*CARD).select_from(JOINED).where(LISTED, STATS.c.mentor_id == user_id)
            )
        ).first()
        return _card(row) if row is not None else None

    async def leaderboard(
        self, req: PageRequest, known_total: int | None
    ) -> Page[LeaderboardEntry]:
        rows, total = await self._counted(SHAPES["leaderboard"], req, known_total)
        return Page(
            items=[_entry(row, req.offset + i + 1) for i, row in enumerate(rows)],
            total=total,
            page=req.page,
            page_size=req.page_size,
        )

    async def leaderboard_entry(self, user_id: uuid.UUID) -> LeaderboardEntry | None:
        places = (
            select(
                STATS.c.mentor_id.label("ranked_id"),
                func.row_number().over(order_by=MOST_MEETS).label("rank"),
            )
            .select_from(JOINED)
            .where(LISTED, STATS.c.completed_meets > 0)
            .subquery("places")
        )
        row = (
            await self._s.execute(
                select(*ENTRY, places.c.rank)
                .select_from(JOINED.outerjoin(places, places.c.ranked_id == STATS.c.mentor_id))
                .where(LISTED, STATS.c.mentor_id == user_id)
            )
        ).first()
        if row is None:
            return None
        return _entry(row, None if row.rank is None else int(row.rank))


class SqlMentorStatsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def ensure(self, mentor_id: uuid.UUID, now: datetime) -> None:
        dialect_insert = postgresql.insert if _is_postgres(self._s) else sqlite.insert
        await self._s.execute(
            dialect_insert(STATS)
            .values(
                mentor_id=mentor_id,
                completed_meets=0,
                rating_sum=0.0,
                rating_count=0,
                avg_rating=None,
                rating_order=0.0,
                open_future_slots=0,
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=[STATS.c.mentor_id])
        )

    async def add_completion(self, mentor_id: uuid.UUID, now: datetime) -> None:
        await self._s.execute(
            update(STATS)
            .where(STATS.c.mentor_id == mentor_id)
            .values(completed_meets=STATS.c.completed_meets + 1, updated_at=now)
        )

    async def add_rating(self, mentor_id: uuid.UUID, rating: float, now: datetime) -> None:
        # Every right-hand side reads the row as it was: sum and count move together.
        await self._s.execute(
            update(STATS)
            .where(STATS.c.mentor_id == mentor_id)
            .values(
                rating_sum=STATS.c.rating_sum + rating,
                rating_count=STATS.c.rating_count + 1,
                avg_rating=(STATS.c.rating_sum + rating) / (STATS.c.rating_count + 1),
                rating_order=(STATS.c.rating_sum + rating) / (STATS.c.rating_count + 1),
                updated_at=now,
            )
        )

    async def shift_open_slots(self, mentor_id: uuid.UUID, delta: int, now: datetime) -> bool:
        result = await self._s.execute(
            update(STATS)
            .where(STATS.c.mentor_id == mentor_id, STATS.c.open_future_slots + delta >= 0)
            .values(open_future_slots=STATS.c.open_future_slots + delta, updated_at=now)
        )
        return bool(getattr(result, "rowcount", 0))

    async def get(self, mentor_id: uuid.UUID) -> MentorStats | None:
        row = (
            await self._s.execute(
                select(
                    STATS.c.mentor_id,
                    STATS.c.completed_meets,
                    STATS.c.rating_sum,
                    STATS.c.rating_count,
                    STATS.c.avg_rating,
                    STATS.c.open_future_slots,
                ).where(STATS.c.mentor_id == mentor_id)
            )
        ).first()
        if row is None:
            return None
        return MentorStats(
            mentor_id=row.mentor_id,
            completed_meets=row.completed_meets,
            rating_sum=float(row.rating_sum),
            rating_count=row.rating_count,
            avg_rating=None if row.avg_rating is None else float(row.avg_rating),
            open_future_slots=row.open_future_slots,
        )
