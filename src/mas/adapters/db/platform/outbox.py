"""Outbox messages and events on SQLAlchemy."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, cast

import msgspec
from sqlalchemy import Table, and_, bindparam, func, insert, select, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from mas.adapters.db.platform.tables import OutboxEventRow, OutboxMessageRow
from mas.core.platform.messages import OutboxMessage, OutboxStatus
from mas.core.platform.paging import Page, PageRequest

_FIELDS = [f.name for f in msgspec.structs.fields(OutboxMessage)]


def _to_message(row: OutboxMessageRow) -> OutboxMessage:
    return msgspec.convert(row, OutboxMessage, from_attributes=True)


def _values(message: OutboxMessage) -> dict[str, Any]:
    values = {name: getattr(message, name) for name in _FIELDS}
    values["status"] = message.status.value
    values["channel"] = message.channel.value
    return values


_MESSAGES = cast(Table, OutboxMessageRow.__table__)
_INSERTED = [*_FIELDS, "updated_at"]
_KEYED_INSERT = (
    text(
        f"INSERT INTO outbox_messages ({', '.join(_INSERTED)}) "
        f"VALUES ({', '.join(':' + name for name in _INSERTED)}) "
        "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id"
    )
    .bindparams(*(bindparam(name, type_=_MESSAGES.c[name].type) for name in _INSERTED))
    .columns(_MESSAGES.c.id)
)
"""Written out because the dialects' ``insert … on_conflict`` is never cached by SQLAlchemy
(recompiled at every send, and a workflow batch sends dozens): this is compiled once."""


class SqlOutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add_message(self, message: OutboxMessage) -> uuid.UUID:
        if message.idempotency_key is None:
            await self._session.execute(insert(OutboxMessageRow).values(**_values(message)))
            return message.id
        # ON CONFLICT DO NOTHING, never a caught IntegrityError: on PostgreSQL that would abort
        # the caller's transaction. A concurrent insert of the same key waits for the other
        # transaction; once it commits, the SELECT (a new snapshot) finds its row.
        values = _values(message)
        values["updated_at"] = datetime.now(UTC)  # the column's default, as an insert sets it
        inserted = await self._session.execute(_KEYED_INSERT, values)
        if inserted.scalar_one_or_none() is not None:
            return message.id
        kept: uuid.UUID = (
            await self._session.execute(
                select(OutboxMessageRow.id).where(
                    OutboxMessageRow.idempotency_key == message.idempotency_key
                )
            )
        ).scalar_one()
        return kept

    async def add_messages(self, messages: list[OutboxMessage]) -> int:
        """Keyed messages in one statement; how many were written (a taken key: not that one)."""
        rows = [_values(message) for message in messages]
        if self._session.get_bind().dialect.name != "postgresql":
            kept = [await self.add_message(message) for message in messages]
            return sum(k == m.id for k, m in zip(kept, messages, strict=True))
        written = await self._session.execute(
            postgresql.insert(OutboxMessageRow)
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(OutboxMessageRow.id),
            rows,
        )
        return len(written.all())

    async def get_message(self, message_id: uuid.UUID) -> OutboxMessage | None:
        row = await self._session.get(OutboxMessageRow, message_id, populate_existing=True)
        return _to_message(row) if row else None

    async def save_message(self, message: OutboxMessage) -> None:
        values = _values(message)
        values.pop("id")
        await self._session.execute(
            update(OutboxMessageRow)
            .where(OutboxMessageRow.id == message.id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )

    async def messages(
        self, status: OutboxStatus | None, recipient: str | None, req: PageRequest
    ) -> Page[OutboxMessage]:
        conditions = []
        if status is not None:
            conditions.append(OutboxMessageRow.status == status.value)
        if recipient:
            conditions.append(OutboxMessageRow.recipient == recipient.strip().lower())
        where = and_(True, *conditions)
        total = (
            await self._session.execute(
                select(func.count()).select_from(OutboxMessageRow).where(where)
            )
        ).scalar_one()
        rows = (
            await self._session.execute(
                select(OutboxMessageRow)
                .where(where)
                .order_by(OutboxMessageRow.created_at.desc(), OutboxMessageRow.id.desc())
                .offset(req.offset)
                .limit(req.page_size)
            )
        ).scalars()
        return Page(
            items=[_to_message(r) for r in rows],
            total=total,
            page=req.page,
            page_size=req.page_size,
        )

    async def unsent_messages(
        self, statuses: list[OutboxStatus], limit: int
    ) -> list[tuple[uuid.UUID, OutboxStatus]]:
        stmt = (
            select(OutboxMessageRow.id, OutboxMessageRow.status)
            .where(OutboxMessageRow.status.in_([s.value for s in statuses]))
            .order_by(OutboxMessageRow.created_at)
            .limit(limit)
        )
        return [(r.id, OutboxStatus(r.status)) for r in await self._session.execute(stmt)]

    async def add_event(self, event_id: uuid.UUID, subject: str, payload: dict[str, Any]) -> None:
        await self._session.execute(
            insert(OutboxEventRow).values(id=event_id, subject=subject, payload=payload)
        )

    async def claim_unpublished_events(
        self, limit: int, ids: list[uuid.UUID] | None = None
    ) -> list[tuple[uuid.UUID, str, dict[str, Any]]]:
        stmt = select(OutboxEventRow.id, OutboxEventRow.subject, OutboxEventRow.payload).where(
            OutboxEventRow.published_at.is_(None)
        )
        if ids is not None:
            stmt = stmt.where(OutboxEventRow.id.in_(ids))
        stmt = stmt.order_by(OutboxEventRow.id).limit(limit).with_for_update(skip_locked=True)
        return [(r.id, r.subject, r.payload) for r in await self._session.execute(stmt)]

    async def mark_published(self, event_ids: list[uuid.UUID], now: datetime) -> None:
        if event_ids:
            await self._session.execute(
                update(OutboxEventRow)
                .where(OutboxEventRow.id.in_(event_ids))
                .values(published_at=now)
                .execution_options(synchronize_session=False)
            )
