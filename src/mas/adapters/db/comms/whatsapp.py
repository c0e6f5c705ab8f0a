"""WhatsApp's repositories on SQLAlchemy (Core statements; rows become the core's Structs here).

A status callback is one conditional ``UPDATE … WHERE provider = ? AND provider_message_id = ?
AND status IN (the statuses it may follow)``: no read first, so a webhook costs one statement
and a late or unknown callback changes nothing. Inserts that may collide on a unique key run in
a savepoint, so the caller's transaction survives the ``DuplicateKey``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, TypeVar

import msgspec
from sqlalchemy import Table, and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mas.adapters.db.comms.whatsapp_tables import (
    ProviderCredentialRow,
    WhatsAppMessageRow,
    WhatsAppReminderRow,
    WhatsAppSenderConfigRow,
    WhatsAppTemplateRow,
    WhatsAppWebhookEventRow,
)
from mas.adapters.db.platform.ledger_batcher import _Batches
from mas.core.comms.whatsapp.model import (
    NOT_CONFIGURED,
    Conversation,
    Message,
    MessageFilter,
    Reminder,
    ReminderKind,
    SenderConfig,
    SenderStatus,
    StatusUpdate,
    StoredCredential,
    Template,
    WebhookDelivery,
    predecessors,
)
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.uow import DuplicateKey

T = TypeVar("T")
MESSAGES: Table = WhatsAppMessageRow.__table__  # type: ignore[assignment]
TEMPLATES: Table = WhatsAppTemplateRow.__table__  # type: ignore[assignment]
SENDERS: Table = WhatsAppSenderConfigRow.__table__  # type: ignore[assignment]
REMINDERS: Table = WhatsAppReminderRow.__table__  # type: ignore[assignment]
CREDENTIALS: Table = ProviderCredentialRow.__table__  # type: ignore[assignment]
WEBHOOKS: Table = WhatsAppWebhookEventRow.__table__  # type: ignore[assignment]
_MESSAGE_COLUMNS = [c for c in MESSAGES.c if c.name != "updated_at"]


def _values(record: msgspec.Struct, table: Table, now: datetime | None = None) -> dict[str, Any]:
    data = {field: getattr(record, field) for field in record.__struct_fields__ if field in table.c}
    if "updated_at" in table.c:
        data["updated_at"] = now or data.get("updated_at") or data.get("created_at")
    if "created_at" in table.c and "created_at" not in data:
        data["created_at"] = data["updated_at"]
    return {
        k: msgspec.to_builtins(v) if isinstance(v, (msgspec.Struct, list, dict)) else v
        for k, v in data.items()
    }


def _plain(row: Any) -> dict[str, Any]:
    """A row as a dict with plain ``str`` keys (msgspec refuses SQLAlchemy's quoted names)."""
    return {str(key): value for key, value in row.items()}


def _struct(kind: type[T], row: Any) -> T:
    return msgspec.convert(_plain(row), kind, strict=False)


def _page(items: list[T], total: int, req: PageRequest) -> Page[T]:
    return Page(items=items, total=total, page=req.page, page_size=req.page_size)


async def _insert(session: AsyncSession, table: Table, values: dict[str, Any], what: str) -> None:
    try:
        async with session.begin_nested():
            await session.execute(insert(table).values(**values))
    except IntegrityError:
        raise DuplicateKey(what) from None


class SqlWhatsAppMessages:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    def _message(self, row: Any) -> Message:
        data = _plain(row)
        data.pop("updated_at", None)
        data["params"] = data.get("params") or []
        return msgspec.convert(data, Message, strict=False)

    async def _one(self, *where: Any) -> Message | None:
        row = (
            (await self._s.execute(select(*_MESSAGE_COLUMNS).where(*where).limit(1)))
            .mappings()
            .first()
        )
        return self._message(row) if row is not None else None

    async def add(self, message: Message) -> None:
        values = _values(message, MESSAGES)
        values["updated_at"] = message.status_at
        await _insert(self._s, MESSAGES, values, f"whatsapp message {message.idempotency_key}")

    async def get(self, message_id: uuid.UUID) -> Message | None:
        return await self._one(MESSAGES.c.id == message_id)

    async def by_key(self, key: str) -> Message | None:
        return await self._one(MESSAGES.c.idempotency_key == key)

    async def inbound(self, provider: str, provider_message_id: str) -> Message | None:
        return await self._one(
            MESSAGES.c.provider_message_id == provider_message_id,
            MESSAGES.c.provider == provider,
        )

    async def save(self, message: Message) -> None:
        values = _values(message, MESSAGES)
        values.pop("id")
        values.pop("created_at", None)
        values["updated_at"] = message.status_at
        await self._s.execute(update(MESSAGES).where(MESSAGES.c.id == message.id).values(**values))

    async def advance(
        self,
        provider: str,
        provider_message_id: str,
        status: str,
        at: datetime,
        error_code: str | None,
        error_message: str | None,
    ) -> bool:
        values: dict[str, Any] = {"status": status, "status_at": at, "updated_at": at}
        if status == "FAILED":
            values["error_code"] = error_code or "provider_failed"
            values["error_message"] = error_message
        result = await self._s.execute(
            update(MESSAGES)
            .where(
                MESSAGES.c.provider_message_id == provider_message_id,
                MESSAGES.c.provider == provider,
                MESSAGES.c.direction == "OUTBOUND",
                MESSAGES.c.status.in_(predecessors(status)),
            )
            .values(**values)
        )
        return bool(getattr(result, "rowcount", 0))

    async def last_inbound_at(self, peer_phone: str) -> datetime | None:
        found = await self._s.scalar(
            select(func.max(MESSAGES.c.created_at)).where(
                MESSAGES.c.peer_phone_e164 == peer_phone, MESSAGES.c.direction == "INBOUND"
            )
        )
        return found  # type: ignore[no-any-return]

    async def last_outbound_to(self, peer_phone: str) -> Message | None:
        row = (
            (
                await self._s.execute(
                    select(*_MESSAGE_COLUMNS)
                    .where(
                        MESSAGES.c.peer_phone_e164 == peer_phone,
                        MESSAGES.c.direction == "OUTBOUND",
                    )
                    .order_by(MESSAGES.c.created_at.desc())
                    .limit(1)
                )
            )
            .mappings()
            .first()
        )
        return self._message(row) if row is not None else None

    def _where(self, flt: MessageFilter) -> list[Any]:
        where: list[Any] = []
        if flt.direction is not None:
            where.append(MESSAGES.c.direction == flt.direction)
        if flt.status is not None:
            where.append(MESSAGES.c.status == flt.status)
        if flt.audience is not None:
            where.append(MESSAGES.c.audience == flt.audience)
        if flt.peer_phone is not None:
            where.append(MESSAGES.c.peer_phone_e164 == flt.peer_phone)
        if flt.sender_config_id is not None:
            where.append(MESSAGES.c.sender_config_id == flt.sender_config_id)
        if flt.raw_lead_id is not None:
            lead = MESSAGES.c.raw_lead_id == flt.raw_lead_id
            if flt.lead_phone is not None:
                from_phone = and_(
                    MESSAGES.c.direction == "INBOUND",
                    MESSAGES.c.peer_phone_e164 == flt.lead_phone,
                )
                lead = or_(lead, from_phone)
            where.append(lead)
        return where

    async def page(self, flt: MessageFilter, req: PageRequest) -> Page[Message]:
        where = self._where(flt)
        total = await self._s.scalar(select(func.count()).select_from(MESSAGES).where(*where))
        rows = await self._s.execute(
            select(*_MESSAGE_COLUMNS)
            .where(*where)
            .order_by(MESSAGES.c.created_at.desc(), MESSAGES.c.id.desc())
            .offset(req.offset)
            .limit(req.page_size)
        )
        return _page([self._message(r) for r in rows.mappings()], int(total or 0), req)

    async def conversations(
        self, sender_config_id: uuid.UUID, req: PageRequest
    ) -> Page[Conversation]:
        mine = MESSAGES.c.sender_config_id == sender_config_id
        grouped = (
            select(
                MESSAGES.c.peer_phone_e164.label("peer"),
                func.count().label("messages"),
                func.max(MESSAGES.c.created_at).label("last_at"),
            )
            .where(mine)
            .group_by(MESSAGES.c.peer_phone_e164)
            .subquery()
        )
        total = await self._s.scalar(select(func.count()).select_from(grouped))
        peers = (
            await self._s.execute(
                select(grouped)
                .order_by(grouped.c.last_at.desc(), grouped.c.peer)
                .offset(req.offset)
                .limit(req.page_size)
            )
        ).all()
        items: list[Conversation] = []
        for peer, count, last_at in peers:
            last = await self._one(
                mine, MESSAGES.c.peer_phone_e164 == peer, MESSAGES.c.created_at == last_at
            )
            items.append(
                Conversation(
                    peer_phone_e164=peer,
                    messages=int(count),
                    last_at=last_at,
                    last_direction=last.direction if last is not None else "OUTBOUND",
                    last_body=last.body if last is not None else None,
                )
            )
        return _page(items, int(total or 0), req)

    async def has_live_retry(self, message_id: uuid.UUID) -> bool:
        found = await self._s.scalar(
            select(MESSAGES.c.id)
            .where(MESSAGES.c.retry_of_id == message_id, MESSAGES.c.status != "FAILED")
            .limit(1)
        )
        return found is not None

    async def waiting_for_provider(self, before: datetime, limit: int) -> list[Message]:
        rows = await self._s.execute(
            select(*_MESSAGE_COLUMNS)
            .where(
                MESSAGES.c.status == "QUEUED",
                MESSAGES.c.error_code == NOT_CONFIGURED,
                MESSAGES.c.status_at <= before,
            )
            .order_by(MESSAGES.c.status_at)
            .limit(limit)
        )
        return [self._message(r) for r in rows.mappings()]

    async def drop_payloads(self, before: datetime) -> int:
        result = await self._s.execute(
            update(MESSAGES)
            .where(
                MESSAGES.c.created_at < before,
                MESSAGES.c.request_payload.is_not(None),
                MESSAGES.c.status != "QUEUED",
            )
            .values(request_payload=None)
        )
        return int(getattr(result, "rowcount", 0) or 0)


class SqlWhatsAppTemplates:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    def _template(self, row: Any) -> Template:
        data = _plain(row)
        data.pop("created_at", None)
        data.pop("updated_at", None)
        data["buttons"] = data.get("buttons") or []
        return msgspec.convert(data, Template, strict=False)

    async def _many(self, *where: Any) -> list[Template]:
        rows = await self._s.execute(
            select(TEMPLATES).where(*where).order_by(TEMPLATES.c.name, TEMPLATES.c.language)
        )
        return [self._template(r) for r in rows.mappings()]

    async def get(self, provider: str, name: str, language: str) -> Template | None:
        found = await self._many(
            TEMPLATES.c.provider == provider,
            TEMPLATES.c.name == name,
            TEMPLATES.c.language == language,
        )
        return found[0] if found else None

    async def named(self, provider: str, name: str) -> list[Template]:
        return await self._many(TEMPLATES.c.provider == provider, TEMPLATES.c.name == name)

    async def all(self, provider: str) -> list[Template]:
        return await self._many(TEMPLATES.c.provider == provider)

    async def page(self, provider: str, req: PageRequest) -> Page[Template]:
        where = TEMPLATES.c.provider == provider
        total = await self._s.scalar(select(func.count()).select_from(TEMPLATES).where(where))
        rows = await self._s.execute(
            select(TEMPLATES)
            .where(where)
            .order_by(TEMPLATES.c.name, TEMPLATES.c.language)
            .offset(req.offset)
            .limit(req.page_size)
        )
        return _page([self._template(r) for r in rows.mappings()], int(total or 0), req)

    async def upsert(self, template: Template) -> None:
        now = template.synced_at or datetime.now(UTC)
        values = _values(template, TEMPLATES, now)
        values["created_at"] = now
        known = await self.get(template.provider, template.name, template.language)
        if known is None:
            await self._s.execute(insert(TEMPLATES).values(**values))
            return
        values.pop("id")
        values.pop("created_at")
        await self._s.execute(update(TEMPLATES).where(TEMPLATES.c.id == known.id).values(**values))


class SqlWhatsAppSenders:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def _one(self, *where: Any) -> SenderConfig | None:
        row = (await self._s.execute(select(SENDERS).where(*where))).mappings().first()
        return _struct(SenderConfig, row) if row is not None else None

    async def add(self, config: SenderConfig) -> None:
        await _insert(self._s, SENDERS, _values(config, SENDERS), "whatsapp sender config")

    async def get(self, config_id: uuid.UUID) -> SenderConfig | None:
        return await self._one(SENDERS.c.id == config_id)

    async def of_owner(self, owner_user_id: uuid.UUID) -> SenderConfig | None:
        return await self._one(SENDERS.c.owner_user_id == owner_user_id)

    async def save(self, config: SenderConfig) -> None:
        values = _values(config, SENDERS)
        values.pop("id")
        await self._s.execute(update(SENDERS).where(SENDERS.c.id == config.id).values(**values))

    async def page(self, status: SenderStatus | None, req: PageRequest) -> Page[SenderConfig]:
        where = [SENDERS.c.status == status] if status is not None else []
        total = await self._s.scalar(select(func.count()).select_from(SENDERS).where(*where))
        rows = await self._s.execute(
            select(SENDERS)
            .where(*where)
            .order_by(SENDERS.c.created_at.desc(), SENDERS.c.id)
            .offset(req.offset)
            .limit(req.page_size)
        )
        return _page([_struct(SenderConfig, r) for r in rows.mappings()], int(total or 0), req)


class SqlWhatsAppReminders:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def _one(self, *where: Any) -> Reminder | None:
        row = (await self._s.execute(select(REMINDERS).where(*where))).mappings().first()
        if row is None:
            return None
        data = _plain(row)
        data.pop("updated_at", None)
        return msgspec.convert(data, Reminder, strict=False)

    async def add(self, reminder: Reminder) -> None:
        values = _values(reminder, REMINDERS)
        await _insert(self._s, REMINDERS, values, f"reminder {reminder.kind} {reminder.ref_id}")

    async def find(self, kind: str, ref_id: uuid.UUID, send_at: datetime) -> Reminder | None:
        return await self._one(
            REMINDERS.c.kind == kind, REMINDERS.c.ref_id == ref_id, REMINDERS.c.send_at == send_at
        )

    async def get(self, reminder_id: uuid.UUID) -> Reminder | None:
        return await self._one(REMINDERS.c.id == reminder_id)

    async def save(self, reminder: Reminder) -> None:
        await self._s.execute(
            update(REMINDERS)
            .where(REMINDERS.c.id == reminder.id)
            .values(status=reminder.status, message_id=reminder.message_id, updated_at=func.now())
        )

    async def cancel(self, kind: ReminderKind, ref_id: uuid.UUID) -> int:
        result = await self._s.execute(
            update(REMINDERS)
            .where(
                REMINDERS.c.kind == kind,
                REMINDERS.c.ref_id == ref_id,
                REMINDERS.c.status == "SCHEDULED",
            )
            .values(status="CANCELLED", updated_at=func.now())
        )
        return int(getattr(result, "rowcount", 0) or 0)


class SqlProviderCredentials:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def get(self, provider: str, name: str) -> StoredCredential | None:
        row = (
            (
                await self._s.execute(
                    select(CREDENTIALS).where(
                        CREDENTIALS.c.provider == provider, CREDENTIALS.c.name == name
                    )
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        data = _plain(row)
        data.pop("created_at", None)
        return StoredCredential(**data)

    async def put(self, credential: StoredCredential) -> None:
        known = await self.get(credential.provider, credential.name)
        values = _values(credential, CREDENTIALS, credential.updated_at)
        if known is None:
            await self._s.execute(insert(CREDENTIALS).values(**values))
            return
        values.pop("id")
        values.pop("created_at", None)
        await self._s.execute(
            update(CREDENTIALS).where(CREDENTIALS.c.id == known.id).values(**values)
        )


class SqlWhatsAppWebhooks:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(self, delivery: WebhookDelivery) -> None:
        await self._s.execute(
            insert(WEBHOOKS).values(**_values(delivery, WEBHOOKS, delivery.received_at))
        )

    async def drop_before(self, before: datetime) -> int:
        result = await self._s.execute(delete(WEBHOOKS).where(WEBHOOKS.c.received_at < before))
        return int(getattr(result, "rowcount", 0) or 0)


class BatchedStatusWriter:
    """``StatusWriter``: the status callbacks waiting at the same moment share one transaction.

    One transaction per callback made the database commit the webhook's bottleneck (about 800
    callbacks/s on one process). Here each batch runs its conditional UPDATEs in one transaction
    and one commit, then answers every caller (the webhook answers 200 only after that commit:
    a provider still redelivers what we lost). Updates run in provider-id order (stable, so one
    message's callbacks keep their order), which keeps two processes' batches from deadlocking.
    One batch at a time, so a later callback never overtakes an earlier one.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession], max_batch: int = 256) -> None:
        self._sessions = sessions
        self._batches: _Batches[StatusUpdate, bool] = _Batches(
            "whatsapp.status", self._execute, max_size=max_batch, max_inflight=1
        )

    async def advance(self, update: StatusUpdate) -> bool:
        return await self._batches.submit(update)

    async def _execute(self, updates: list[StatusUpdate]) -> list[bool]:
        results = [False] * len(updates)
        order = sorted(range(len(updates)), key=lambda n: updates[n].provider_message_id)
        async with self._sessions() as session, session.begin():
            messages = SqlWhatsAppMessages(session)
            for n in order:
                update_ = updates[n]
                results[n] = await messages.advance(
                    update_.provider,
                    update_.provider_message_id,
                    update_.status,
                    update_.at,
                    update_.error_code,
                    update_.error_message,
                )
        return results
