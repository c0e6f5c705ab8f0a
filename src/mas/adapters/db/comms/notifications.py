"""The notifications part's repositories on SQLAlchemy Core (SQLite and PostgreSQL alike).

The daily cap is one conditional upsert on ``notification_daily_counts`` (``INSERT … ON
CONFLICT DO UPDATE SET count = count + 1 WHERE count < cap RETURNING``): on PostgreSQL a second
writer for the same (user, day) waits for the first one's row lock and then re-checks the
condition, so two notifications for a student at the last slot cannot both pass; SQLite has
one writer at a time. A broadcast chunk does the same for up to 1,000 students in one
statement, then inserts the chunk's notifications in one ``executemany`` that skips (user,
dedupe key) pairs already taken and returns who was notified.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, cast

import msgspec
from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    false,
    func,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from mas.adapters.db.comms.notifications_tables import (
    NotificationBroadcastRow,
    NotificationRow,
    notification_daily_counts,
    notification_preferences,
)
from mas.adapters.db.identity.tables import UserRow
from mas.core.comms.notifications.model import (
    Audience,
    Broadcast,
    BroadcastStatus,
    Category,
    Channel,
    ChunkTally,
    Notification,
    PreferenceToggle,
    broadcast_key,
)
from mas.core.platform.ids import uuid7_bytes_batch
from mas.core.platform.paging import Page, PageRequest

NOTIFICATIONS = cast(Table, NotificationRow.__table__)
BROADCASTS = cast(Table, NotificationBroadcastRow.__table__)
USERS = cast(Table, UserRow.__table__)
COUNTS = notification_daily_counts
PREFERENCES = notification_preferences
STUDENT = "USER"
BROADCAST_CATEGORY = Category.ANNOUNCEMENT

_NOTIFICATION = [NOTIFICATIONS.c[f.name] for f in msgspec.structs.fields(Notification)]
_BROADCAST = [BROADCASTS.c[f.name] for f in msgspec.structs.fields(Broadcast)]
_STAMP = {
    BroadcastStatus.SCHEDULED: "scheduled_at",
    BroadcastStatus.SENDING: "started_at",
    BroadcastStatus.SENT: "sent_at",
    BroadcastStatus.CANCELLED: "cancelled_at",
}


def upsert_for(session: AsyncSession) -> Callable[[Table], Any]:
    """The dialect's ``insert`` (it has ``on_conflict_do_*``)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert
    return sqlite.insert


def _slot_statement(session: AsyncSession, cap: int) -> Any:
    """Take one slot of the day for each row given, where the count is below ``cap``."""
    statement = upsert_for(session)(COUNTS)
    return statement.on_conflict_do_update(
        index_elements=[COUNTS.c.user_id, COUNTS.c.ist_date],
        set_={"count": COUNTS.c.count + 1},
        where=COUNTS.c.count < cap,
    ).returning(COUNTS.c.user_id)


def _plain(value: Any) -> Any:
    return value.value if hasattr(value, "value") else value


class SqlNotificationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def enabled(self, user_id: uuid.UUID, channel: Channel, category: Category) -> bool:
        found = await self._s.scalar(
            select(PREFERENCES.c.enabled).where(
                PREFERENCES.c.user_id == user_id,
                PREFERENCES.c.channel == channel.value,
                PREFERENCES.c.category == category.value,
            )
        )
        return found is None or bool(found)

    async def dedupe_used(self, user_id: uuid.UUID, dedupe_key: str) -> bool:
        found = await self._s.scalar(
            select(NOTIFICATIONS.c.id).where(
                NOTIFICATIONS.c.user_id == user_id, NOTIFICATIONS.c.dedupe_key == dedupe_key
            )
        )
        return found is not None

    async def role_of(self, user_id: uuid.UUID) -> str | None:
        role = await self._s.scalar(
            select(USERS.c.role).where(USERS.c.id == user_id, USERS.c.deleted_at.is_(None))
        )
        return str(role) if role is not None else None

    async def take_daily_slot(self, user_id: uuid.UUID, day: date, cap: int) -> bool:
        if cap < 1:
            return False
        taken = await self._s.execute(
            _slot_statement(self._s, cap), [{"user_id": user_id, "ist_date": day, "count": 1}]
        )
        return taken.first() is not None

    async def release_daily_slot(self, user_id: uuid.UUID, day: date) -> None:
        await release_slots(self._s, [user_id], day)

    async def add(self, notification: Notification, dedupe_key: str | None) -> bool:
        values = {f: _plain(getattr(notification, f)) for f in notification.__struct_fields__}
        statement = (
            upsert_for(self._s)(NOTIFICATIONS)
            .values(**values, dedupe_key=dedupe_key, updated_at=notification.created_at)
            .on_conflict_do_nothing()
            .returning(NOTIFICATIONS.c.id)
        )
        return (await self._s.execute(statement)).first() is not None

    async def feed(
        self,
        user_id: uuid.UUID,
        unread_only: bool,
        before: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> list[Notification]:
        statement = select(*_NOTIFICATION).where(NOTIFICATIONS.c.user_id == user_id)
        if unread_only:
            statement = statement.where(NOTIFICATIONS.c.is_read == false())
        if before is not None:
            moment, last = before
            statement = statement.where(
                or_(
                    NOTIFICATIONS.c.created_at < moment,
                    and_(NOTIFICATIONS.c.created_at == moment, NOTIFICATIONS.c.id < last),
                )
            )
        rows = await self._s.execute(
            statement.order_by(NOTIFICATIONS.c.created_at.desc(), NOTIFICATIONS.c.id.desc()).limit(
                limit
            )
        )
        return [msgspec.convert(dict(row), Notification) for row in rows.mappings()]

    async def unread_count(self, user_id: uuid.UUID) -> int:
        count = await self._s.scalar(
            select(func.count()).where(
                NOTIFICATIONS.c.user_id == user_id, NOTIFICATIONS.c.is_read == false()
            )
        )
        return int(count or 0)

    async def mark_read(
        self, user_id: uuid.UUID, notification_id: uuid.UUID, now: datetime
    ) -> Notification | None:
        mine = and_(NOTIFICATIONS.c.id == notification_id, NOTIFICATIONS.c.user_id == user_id)
        await self._s.execute(
            update(NOTIFICATIONS)
            .where(mine, NOTIFICATIONS.c.is_read == false())
            .values(is_read=True, read_at=now, updated_at=now)
        )
        row = (await self._s.execute(select(*_NOTIFICATION).where(mine))).mappings().first()
        return msgspec.convert(dict(row), Notification) if row else None

    async def mark_all_read(self, user_id: uuid.UUID, now: datetime) -> int:
        result = await self._s.execute(
            update(NOTIFICATIONS)
            .where(NOTIFICATIONS.c.user_id == user_id, NOTIFICATIONS.c.is_read == false())
            .values(is_read=True, read_at=now, updated_at=now)
        )
        return int(cast(Any, result).rowcount or 0)

    async def disabled(self, user_id: uuid.UUID) -> set[tuple[Channel, Category]]:
        rows = await self._s.execute(
            select(PREFERENCES.c.channel, PREFERENCES.c.category).where(
                PREFERENCES.c.user_id == user_id, PREFERENCES.c.enabled == false()
            )
        )
        return {(Channel(channel), Category(category)) for channel, category in rows}

    async def set_preferences(self, user_id: uuid.UUID, toggles: list[PreferenceToggle]) -> None:
        # One row per toggle: the last of repeated toggles wins (an upsert may not touch a row
        # twice in one statement on PostgreSQL).
        latest = {(t.channel.value, t.category.value): t.enabled for t in toggles}
        rows = [
            {"user_id": user_id, "channel": channel, "category": category, "enabled": enabled}
            for (channel, category), enabled in latest.items()
        ]
        statement = upsert_for(self._s)(PREFERENCES)
        await self._s.execute(
            statement.on_conflict_do_update(
                index_elements=[
                    PREFERENCES.c.user_id,
                    PREFERENCES.c.channel,
                    PREFERENCES.c.category,
                ],
                set_={"enabled": statement.excluded.enabled},
            ),
            rows,
        )


async def release_slots(session: AsyncSession, user_ids: list[uuid.UUID], day: date) -> None:
    """Give back slots taken for notifications that were not written after all."""
    if user_ids:
        await session.execute(
            update(COUNTS)
            .where(COUNTS.c.user_id.in_(user_ids), COUNTS.c.ist_date == day, COUNTS.c.count > 0)
            .values(count=COUNTS.c.count - 1)
        )


def _is_pg(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


class _PortableChunkWriter:
    """A chunk's two writes as ``executemany`` upserts (SQLite; any dialect with ON CONFLICT)."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def take_slots(self, students: list[uuid.UUID], day: date, cap: int) -> list[uuid.UUID]:
        taken = await self._s.execute(
            _slot_statement(self._s, cap),
            [{"user_id": u, "ist_date": day, "count": 1} for u in students],
        )
        return [row[0] for row in taken]

    async def insert(
        self, broadcast: Broadcast, users: list[uuid.UUID], key: str, now: datetime
    ) -> list[uuid.UUID]:
        written = await self._s.execute(
            upsert_for(self._s)(NOTIFICATIONS)
            .on_conflict_do_nothing()
            .returning(NOTIFICATIONS.c.user_id),
            [
                {
                    "id": uuid.UUID(bytes=ident),
                    "user_id": user_id,
                    "category": BROADCAST_CATEGORY.value,
                    "title": broadcast.title,
                    "body": broadcast.body,
                    "link": broadcast.link,
                    "data": {},
                    "broadcast_id": broadcast.id,
                    "dedupe_key": key,
                    "is_read": False,
                    "read_at": None,
                    "created_at": now,
                    "updated_at": now,
                }
                for ident, user_id in zip(uuid7_bytes_batch(len(users)), users, strict=True)
            ],
        )
        return [row[0] for row in written]


# PostgreSQL: each write is one INSERT … SELECT over arrays (two parameters, whatever the
# chunk's size), so neither SQLAlchemy nor the driver handles a row at a time.
_PG_SLOTS = text(
    """
    INSERT INTO notification_daily_counts (user_id, ist_date, count)
    SELECT t.user_id, CAST(:day AS date), 1 FROM unnest(CAST(:users AS uuid[])) AS t(user_id)
    ON CONFLICT (user_id, ist_date) DO UPDATE
    SET count = notification_daily_counts.count + 1
    WHERE notification_daily_counts.count < :cap
    RETURNING user_id
    """
)
_PG_NOTIFICATIONS = text(
    """
    INSERT INTO notifications (id, user_id, category, title, body, link, data, broadcast_id,
                               dedupe_key, is_read, created_at, updated_at)
    SELECT t.id, t.user_id, :category, :title, :body, CAST(:link AS varchar),
           CAST('{}' AS jsonb), CAST(:broadcast_id AS uuid), :dedupe_key, false,
           CAST(:now AS timestamptz), CAST(:now AS timestamptz)
    FROM unnest(CAST(:ids AS uuid[]), CAST(:users AS uuid[])) AS t(id, user_id)
    ON CONFLICT DO NOTHING
    RETURNING user_id
    """
)


def _ids(rows: Any) -> list[uuid.UUID]:
    """The driver's UUIDs as the standard library's."""
    return [uuid.UUID(bytes=row[0].bytes) for row in rows]


class _PgChunkWriter:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def take_slots(self, students: list[uuid.UUID], day: date, cap: int) -> list[uuid.UUID]:
        taken = await self._s.execute(_PG_SLOTS, {"users": students, "day": day, "cap": cap})
        return _ids(taken)

    async def insert(
        self, broadcast: Broadcast, users: list[uuid.UUID], key: str, now: datetime
    ) -> list[uuid.UUID]:
        written = await self._s.execute(
            _PG_NOTIFICATIONS,
            {
                "ids": [uuid.UUID(bytes=ident) for ident in uuid7_bytes_batch(len(users))],
                "users": users,
                "category": BROADCAST_CATEGORY.value,
                "title": broadcast.title,
                "body": broadcast.body,
                "link": broadcast.link,
                "broadcast_id": broadcast.id,
                "dedupe_key": key,
                "now": now,
            },
        )
        return _ids(written)


def _audience(audience: Audience, ref: str | None) -> ColumnElement[bool]:
    role = STUDENT if audience is Audience.ALL_STUDENTS else (ref or "")
    return and_(USERS.c.role == role, USERS.c.deleted_at.is_(None), USERS.c.is_blocked == false())


class SqlBroadcastRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(self, broadcast: Broadcast) -> None:
        values = {f: _plain(getattr(broadcast, f)) for f in broadcast.__struct_fields__}
        await self._s.execute(BROADCASTS.insert().values(**values, updated_at=broadcast.created_at))

    async def get(self, broadcast_id: uuid.UUID) -> Broadcast | None:
        row = (
            (await self._s.execute(select(*_BROADCAST).where(BROADCASTS.c.id == broadcast_id)))
            .mappings()
            .first()
        )
        return msgspec.convert(dict(row), Broadcast) if row else None

    async def page(self, req: PageRequest) -> Page[Broadcast]:
        total = await self._s.scalar(select(func.count()).select_from(BROADCASTS))
        rows = await self._s.execute(
            select(*_BROADCAST)
            .order_by(BROADCASTS.c.created_at.desc(), BROADCASTS.c.id.desc())
            .offset(req.offset)
            .limit(req.page_size)
        )
        return Page(
            items=[msgspec.convert(dict(row), Broadcast) for row in rows.mappings()],
            total=int(total or 0),
            page=req.page,
            page_size=req.page_size,
        )

    async def move(
        self,
        broadcast_id: uuid.UUID,
        sources: frozenset[BroadcastStatus],
        target: BroadcastStatus,
        at: datetime,
    ) -> bool:
        result = await self._s.execute(
            update(BROADCASTS)
            .where(
                BROADCASTS.c.id == broadcast_id,
                BROADCASTS.c.status.in_(sorted(s.value for s in sources)),
            )
            .values({"status": target.value, _STAMP[target]: at, "updated_at": at})
        )
        return int(cast(Any, result).rowcount or 0) == 1

    async def audience_size(self, audience: Audience, ref: str | None) -> int:
        count = await self._s.scalar(select(func.count()).where(_audience(audience, ref)))
        return int(count or 0)

    async def progress(self, broadcast_id: uuid.UUID) -> uuid.UUID | None:
        # Locks the broadcast on PostgreSQL: two runs of one fan-out take chunks in turn.
        found = await self._s.scalar(
            select(BROADCASTS.c.progress_user_id)
            .where(BROADCASTS.c.id == broadcast_id)
            .with_for_update()
        )
        return cast(uuid.UUID | None, found)

    async def deliver_chunk(
        self,
        broadcast: Broadcast,
        after: uuid.UUID | None,
        limit: int,
        day: date,
        cap: int,
        now: datetime,
    ) -> tuple[ChunkTally, list[uuid.UUID], uuid.UUID] | None:
        key = broadcast_key(broadcast.id)
        # ``LIMIT 1 OFFSET 0`` keeps each EXISTS a per-user index probe: PostgreSQL would
        # otherwise turn it into a hashed subplan that reads the whole table once per chunk
        # (every chunk slower than the last as the broadcast's rows pile up).
        turned_off = (
            select(literal(1))
            .where(
                PREFERENCES.c.user_id == USERS.c.id,
                PREFERENCES.c.channel == Channel.IN_APP.value,
                PREFERENCES.c.category == BROADCAST_CATEGORY.value,
                PREFERENCES.c.enabled == false(),
            )
            .limit(1)
            .offset(0)
            .exists()
        )
        already = (
            select(literal(1))
            .where(NOTIFICATIONS.c.user_id == USERS.c.id, NOTIFICATIONS.c.dedupe_key == key)
            .limit(1)
            .offset(0)
            .exists()
        )
        statement = select(
            USERS.c.id, USERS.c.role, turned_off.label("off"), already.label("dup")
        ).where(_audience(broadcast.audience, broadcast.audience_ref))
        if after is not None:
            statement = statement.where(USERS.c.id > after)
        rows = (await self._s.execute(statement.order_by(USERS.c.id).limit(limit))).all()
        if not rows:
            return None
        tally = ChunkTally(recipients=len(rows))
        students: list[uuid.UUID] = []
        others: list[uuid.UUID] = []
        for user_id, role, off, dup in rows:
            if off:
                tally.skipped_pref += 1
            elif dup:
                tally.duplicates += 1
            else:
                (students if role == STUDENT else others).append(user_id)
        writer = _PgChunkWriter(self._s) if _is_pg(self._s) else _PortableChunkWriter(self._s)
        passed = await writer.take_slots(students, day, cap) if students and cap >= 1 else []
        tally.capped = len(students) - len(passed)
        chosen = others + passed
        notified = await writer.insert(broadcast, chosen, key, now) if chosen else []
        if len(notified) < len(chosen):
            # Another writer took the broadcast's key for some users after the check above.
            missed = set(chosen) - set(notified)
            tally.duplicates += len(missed)
            await release_slots(self._s, [u for u in passed if u in missed], day)
        tally.delivered = len(notified)
        return tally, notified, rows[-1][0]

    async def record_chunk(
        self, broadcast_id: uuid.UUID, tally: ChunkTally, last_user_id: uuid.UUID
    ) -> None:
        columns = BROADCASTS.c
        await self._s.execute(
            update(BROADCASTS)
            .where(columns.id == broadcast_id)
            .values(
                recipients=columns.recipients + tally.recipients,
                delivered=columns.delivered + tally.delivered,
                capped=columns.capped + tally.capped,
                skipped_pref=columns.skipped_pref + tally.skipped_pref,
                duplicates=columns.duplicates + tally.duplicates,
                progress_user_id=last_user_id,
            )
        )
