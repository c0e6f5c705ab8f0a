"""The telephony part's repositories: the call log and the SMS log, on SQLAlchemy Core.

A status change is a compare-and-set (``UPDATE … WHERE status = <as read>``): two callbacks
racing for one call cannot both apply, and a finished call's row is never written again.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

import msgspec
from advanced_alchemy.types import GUID
from sqlalchemy import Table, and_, column, func, insert, null, or_, select, table, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mas.adapters.db.comms.telephony_tables import LeadCallLogRow, LeadSmsLogRow
from mas.core.comms.ports.telephony import TERMINAL_CALL_STATUSES, CallStatus, SmsStatus
from mas.core.comms.telephony.model import CallLog, SmsLog
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.uow import DuplicateKey

CALLS = cast(Table, LeadCallLogRow.__table__)
SMS = cast(Table, LeadSmsLogRow.__table__)
# Identity's table, read for the one column telephony needs (the agent's own phone); named
# here rather than imported so the comms adapters do not reach into identity's.
USERS = table("users", column("id", GUID()), column("phone"))

_CALL_FIELDS = [f.name for f in msgspec.structs.fields(CallLog)]
_SMS_FIELDS = [f.name for f in msgspec.structs.fields(SmsLog)]
_UNFINISHED = [status.value for status in CallStatus if status not in TERMINAL_CALL_STATUSES]
_PHONE_NOISE = str.maketrans("", "", " -().")


def _plain(value: Any) -> Any:
    return value.value if hasattr(value, "value") else value


def _values(struct: Any, fields: list[str]) -> dict[str, Any]:
    return {name: _plain(getattr(struct, name)) for name in fields}


def _call(row: Any) -> CallLog:
    return msgspec.convert(dict(row._mapping), CallLog, strict=False)


def _sms(row: Any) -> SmsLog:
    return msgspec.convert(dict(row._mapping), SmsLog, strict=False)


class SqlCallLogRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def drop_raw_callbacks(self, before: datetime) -> int:
        result = await self._s.execute(
            update(CALLS)
            .where(CALLS.c.created_at < before, CALLS.c.raw_callback.is_not(None))
            .values(raw_callback=null())  # SQL NULL, not the JSON value null
        )
        return int(getattr(result, "rowcount", 0) or 0)

    def _locked(self, statement: Any, lock: bool) -> Any:
        return statement.with_for_update() if lock else statement

    async def add(self, log: CallLog) -> None:
        try:
            async with self._s.begin_nested():
                await self._s.execute(insert(CALLS).values(**_values(log, _CALL_FIELDS)))
        except IntegrityError:
            raise DuplicateKey(f"call {log.provider_call_id}") from None

    async def get(self, call_id: uuid.UUID, *, lock: bool = False) -> CallLog | None:
        statement = select(*CALLS.c[*_CALL_FIELDS]).where(CALLS.c.id == call_id)
        row = (await self._s.execute(self._locked(statement, lock))).first()
        return _call(row) if row else None

    async def by_provider_id(self, provider_call_id: str, *, lock: bool = False) -> CallLog | None:
        statement = select(*CALLS.c[*_CALL_FIELDS]).where(
            CALLS.c.provider_call_id == provider_call_id
        )
        row = (await self._s.execute(self._locked(statement, lock))).first()
        return _call(row) if row else None

    async def save(self, log: CallLog, expected: CallStatus) -> bool:
        values = _values(log, _CALL_FIELDS)
        del values["id"], values["created_at"]
        result = await self._s.execute(
            update(CALLS)
            .where(CALLS.c.id == log.id, CALLS.c.status == expected.value)
            .values(**values)
        )
        return bool(getattr(result, "rowcount", 0))

    async def active_for_agent(
        self, user_id: uuid.UUID, *, confirmed_since: datetime, unconfirmed_since: datetime
    ) -> CallLog | None:
        statement = (
            select(*CALLS.c[*_CALL_FIELDS])
            .where(
                CALLS.c.user_id == user_id,
                CALLS.c.status.in_(_UNFINISHED),
                CALLS.c.created_at >= min(confirmed_since, unconfirmed_since),
                or_(
                    and_(
                        CALLS.c.provider_call_id.is_not(None),
                        CALLS.c.created_at >= confirmed_since,
                    ),
                    and_(
                        CALLS.c.provider_call_id.is_(None),
                        CALLS.c.created_at >= unconfirmed_since,
                    ),
                ),
            )
            .order_by(CALLS.c.created_at.desc())
            .limit(1)
        )
        row = (await self._s.execute(statement)).first()
        return _call(row) if row else None

    async def stale(self, before: datetime, not_before: datetime, limit: int) -> list[CallLog]:
        rows = await self._s.execute(
            select(*CALLS.c[*_CALL_FIELDS])
            .where(
                CALLS.c.status.in_(_UNFINISHED),
                CALLS.c.created_at < before,
                CALLS.c.created_at >= not_before,
            )
            .order_by(CALLS.c.created_at, CALLS.c.id)
            .limit(limit)
        )
        return [_call(row) for row in rows]

    async def page_for_lead(self, lead_id: uuid.UUID, req: PageRequest) -> Page[CallLog]:
        total = await self._s.scalar(
            select(func.count()).select_from(CALLS).where(CALLS.c.raw_lead_id == lead_id)
        )
        rows = await self._s.execute(
            select(*CALLS.c[*_CALL_FIELDS])
            .where(CALLS.c.raw_lead_id == lead_id)
            .order_by(CALLS.c.created_at.desc(), CALLS.c.id.desc())
            .offset(req.offset)
            .limit(req.page_size)
        )
        return Page(
            items=[_call(row) for row in rows],
            total=int(total or 0),
            page=req.page,
            page_size=req.page_size,
        )

    async def agent_phone(self, user_id: uuid.UUID) -> str | None:
        """Locks the agent's row on PostgreSQL for the transaction, so two clicks at once
        are one call and one 409, not two calls."""
        statement = select(USERS.c.phone).where(USERS.c.id == user_id)
        if self._s.get_bind().dialect.name != "sqlite":
            statement = statement.with_for_update()
        phone = await self._s.scalar(statement)
        cleaned = str(phone or "").translate(_PHONE_NOISE)
        return cleaned or None


class SqlSmsLogRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(self, log: SmsLog) -> None:
        try:
            async with self._s.begin_nested():
                await self._s.execute(insert(SMS).values(**_values(log, _SMS_FIELDS)))
        except IntegrityError:
            raise DuplicateKey(f"sms {log.idempotency_key or log.provider_sid}") from None

    async def get(self, sms_id: uuid.UUID, *, lock: bool = False) -> SmsLog | None:
        statement = select(*SMS.c[*_SMS_FIELDS]).where(SMS.c.id == sms_id)
        if lock:
            statement = statement.with_for_update()
        row = (await self._s.execute(statement)).first()
        return _sms(row) if row else None

    async def by_provider_sid(self, provider_sid: str, *, lock: bool = False) -> SmsLog | None:
        statement = select(*SMS.c[*_SMS_FIELDS]).where(SMS.c.provider_sid == provider_sid)
        if lock:
            statement = statement.with_for_update()
        row = (await self._s.execute(statement)).first()
        return _sms(row) if row else None

    async def by_key(self, key: str) -> SmsLog | None:
        statement = select(*SMS.c[*_SMS_FIELDS]).where(SMS.c.idempotency_key == key)
        row = (await self._s.execute(statement)).first()
        return _sms(row) if row else None

    async def add_keyed(self, log: SmsLog) -> uuid.UUID:
        # As the outbox does: ON CONFLICT DO NOTHING, never a caught IntegrityError (it would
        # abort the caller's transaction on PostgreSQL), and no savepoint (on SQLite, releasing
        # one opened before the transaction's first write commits it).
        postgres = self._s.get_bind().dialect.name == "postgresql"
        make = postgresql.insert if postgres else sqlite.insert
        inserted = await self._s.execute(
            make(SMS)
            .values(**_values(log, _SMS_FIELDS))
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(SMS.c.id)
        )
        if inserted.scalar_one_or_none() is not None:
            return log.id
        kept: uuid.UUID = (
            await self._s.execute(
                select(SMS.c.id).where(SMS.c.idempotency_key == log.idempotency_key)
            )
        ).scalar_one()
        return kept

    async def claim(self, sms_id: uuid.UUID, attempts: int, at: datetime) -> bool:
        result = await self._s.execute(
            update(SMS)
            .where(
                SMS.c.id == sms_id,
                SMS.c.status == SmsStatus.QUEUED.value,
                SMS.c.provider_sid.is_(None),
                SMS.c.attempts == attempts,
            )
            .values(attempts=attempts + 1, status_at=at)
        )
        return bool(getattr(result, "rowcount", 0))

    async def save(self, log: SmsLog, expected: SmsStatus) -> bool:
        values = _values(log, _SMS_FIELDS)
        del values["id"], values["created_at"]
        result = await self._s.execute(
            update(SMS).where(SMS.c.id == log.id, SMS.c.status == expected.value).values(**values)
        )
        return bool(getattr(result, "rowcount", 0))

    async def unsent(self, before: datetime, max_attempts: int, limit: int) -> list[SmsLog]:
        rows = await self._s.execute(
            select(*SMS.c[*_SMS_FIELDS])
            .where(
                SMS.c.status == SmsStatus.QUEUED.value,
                SMS.c.provider_sid.is_(None),
                SMS.c.status_at < before,
                SMS.c.attempts < max_attempts,
            )
            .order_by(SMS.c.created_at, SMS.c.id)
            .limit(limit)
        )
        return [_sms(row) for row in rows]
