"""The earnings part's repository, on SQLAlchemy Core.

Balances change by deltas in one ``UPDATE`` whose ``WHERE`` refuses a negative result, so two
concurrent withdrawals cannot both spend the same rupee and no read-modify-write is lost; the
row's check constraint keeps ``total = available + pending + withdrawn``. Journal inserts that
a unique index may refuse (a slot credited before, a second open withdrawal) are
``ON CONFLICT DO NOTHING``: on PostgreSQL a concurrent writer of the same key waits for the
other transaction and then inserts nothing, and the caller's transaction is not aborted.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

import msgspec
from advanced_alchemy.types import GUID
from sqlalchemy import Table, column, func, select, table, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from mas.adapters.db.tokens.earnings_tables import MentorEarningsRow, MentorTransactionRow
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import Page, PageRequest
from mas.core.tokens.earnings.model import (
    Earnings,
    MentorTransaction,
    PayoutMode,
    TxnStatus,
    TxnType,
)
from mas.core.tokens.earnings.ports import MentorContact

BALANCES = cast(Table, MentorEarningsRow.__table__)
JOURNAL = cast(Table, MentorTransactionRow.__table__)
# Identity's table, read for the columns a mail and a payout need; named here rather than
# imported so the tokens adapters do not reach into identity's.
USERS = table(
    "users",
    column("id", GUID()),
    column("email"),
    column("full_name"),
    column("role"),
    column("is_blocked"),
    column("deleted_at"),
)

_BALANCE_FIELDS = [f.name for f in msgspec.structs.fields(Earnings)]
_FIELDS = [f.name for f in msgspec.structs.fields(MentorTransaction)]
_LIFECYCLE = [
    "status",
    "payout_mode",
    "transaction_id",
    "razorpay_payout_id",
    "failure_reason",
    "processed_by",
    "completed_at",
]


def _plain(value: Any) -> Any:
    return value.value if hasattr(value, "value") else value


def _txn(row: Any) -> MentorTransaction:
    return msgspec.convert(dict(row._mapping), MentorTransaction, strict=False)


def _insert(session: AsyncSession) -> Callable[[Table], Any]:
    if session.get_bind().dialect.name == "postgresql":
        return cast(Callable[[Table], Any], postgresql.insert)
    return cast(Callable[[Table], Any], sqlite.insert)


class SqlEarningsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def ensure(self, mentor_id: uuid.UUID, now: datetime) -> None:
        statement = (
            _insert(self._s)(BALANCES)
            .values(id=uuid7(), mentor_id=mentor_id, created_at=now, updated_at=now)
            .on_conflict_do_nothing(index_elements=["mentor_id"])
        )
        await self._s.execute(statement)

    async def balances(self, mentor_id: uuid.UUID) -> Earnings | None:
        row = (
            await self._s.execute(
                select(*BALANCES.c[*_BALANCE_FIELDS]).where(BALANCES.c.mentor_id == mentor_id)
            )
        ).first()
        return msgspec.convert(dict(row._mapping), Earnings) if row else None

    async def move(
        self,
        mentor_id: uuid.UUID,
        now: datetime,
        *,
        total: int = 0,
        available: int = 0,
        pending: int = 0,
        withdrawn: int = 0,
    ) -> Earnings | None:
        deltas = {
            "total_earnings_paise": total,
            "available_balance_paise": available,
            "pending_withdrawal_paise": pending,
            "withdrawn_amount_paise": withdrawn,
        }
        statement = (
            update(BALANCES)
            .where(
                BALANCES.c.mentor_id == mentor_id,
                *(BALANCES.c[name] + delta >= 0 for name, delta in deltas.items() if delta < 0),
            )
            .values(
                **{name: BALANCES.c[name] + delta for name, delta in deltas.items() if delta},
                version=BALANCES.c.version + 1,
                updated_at=now,
            )
            .returning(*BALANCES.c[*_BALANCE_FIELDS])
        )
        row = (await self._s.execute(statement)).first()
        return msgspec.convert(dict(row._mapping), Earnings) if row else None

    async def _add(self, txn: MentorTransaction) -> bool:
        values = {name: _plain(getattr(txn, name)) for name in _FIELDS}
        statement = (
            _insert(self._s)(JOURNAL)
            .values(**values, updated_at=txn.created_at)
            .on_conflict_do_nothing()
            .returning(JOURNAL.c.id)
        )
        return (await self._s.execute(statement)).first() is not None

    async def add_earning(self, txn: MentorTransaction) -> bool:
        return await self._add(txn)

    async def add_withdrawal(self, txn: MentorTransaction) -> bool:
        return await self._add(txn)

    async def get(self, txn_id: uuid.UUID) -> MentorTransaction | None:
        row = (
            await self._s.execute(select(*JOURNAL.c[*_FIELDS]).where(JOURNAL.c.id == txn_id))
        ).first()
        return _txn(row) if row else None

    async def by_payout_id(self, payout_id: str) -> MentorTransaction | None:
        row = (
            await self._s.execute(
                select(*JOURNAL.c[*_FIELDS]).where(JOURNAL.c.razorpay_payout_id == payout_id)
            )
        ).first()
        return _txn(row) if row else None

    async def save(self, txn: MentorTransaction, expected: TxnStatus) -> bool:
        result = await self._s.execute(
            update(JOURNAL)
            .where(JOURNAL.c.id == txn.id, JOURNAL.c.status == expected.value)
            .values(
                **{name: _plain(getattr(txn, name)) for name in _LIFECYCLE},
                updated_at=datetime.now(UTC),
            )
        )
        return bool(getattr(result, "rowcount", 0))

    async def history(self, mentor_id: uuid.UUID, req: PageRequest) -> Page[MentorTransaction]:
        where = JOURNAL.c.mentor_id == mentor_id
        total = (await self._s.execute(select(func.count()).where(where))).scalar_one()
        rows = await self._s.execute(
            select(*JOURNAL.c[*_FIELDS])
            .where(where)
            .order_by(JOURNAL.c.created_at.desc(), JOURNAL.c.id.desc())
            .offset(req.offset)
            .limit(req.page_size)
        )
        return Page(
            items=[_txn(row) for row in rows], total=total, page=req.page, page_size=req.page_size
        )

    async def withdrawals(
        self, status: TxnStatus | None, req: PageRequest
    ) -> Page[tuple[MentorTransaction, str | None]]:
        where = [JOURNAL.c.type == TxnType.WITHDRAWAL.value]
        if status is not None:
            where.append(JOURNAL.c.status == status.value)
        total = (await self._s.execute(select(func.count()).where(*where))).scalar_one()
        rows = await self._s.execute(
            select(*JOURNAL.c[*_FIELDS], USERS.c.email.label("mentor_email"))
            .select_from(JOURNAL.outerjoin(USERS, USERS.c.id == JOURNAL.c.mentor_id))
            .where(*where)
            .order_by(JOURNAL.c.created_at.desc(), JOURNAL.c.id.desc())
            .offset(req.offset)
            .limit(req.page_size)
        )
        items = []
        for row in rows:
            values = dict(row._mapping)
            email = values.pop("mentor_email")
            items.append((msgspec.convert(values, MentorTransaction, strict=False), email))
        return Page(items=items, total=total, page=req.page, page_size=req.page_size)

    async def payouts_in_flight(self, limit: int) -> list[MentorTransaction]:
        rows = await self._s.execute(
            select(*JOURNAL.c[*_FIELDS])
            .where(
                JOURNAL.c.type == TxnType.WITHDRAWAL.value,
                JOURNAL.c.status == TxnStatus.IN_PROCESS.value,
                JOURNAL.c.payout_mode == PayoutMode.RAZORPAY.value,
            )
            .order_by(JOURNAL.c.created_at)
            .limit(limit)
        )
        return [_txn(row) for row in rows]

    async def contact(self, user_id: uuid.UUID) -> MentorContact | None:
        row = (
            await self._s.execute(
                select(USERS.c.id, USERS.c.email, USERS.c.full_name, USERS.c.role).where(
                    USERS.c.id == user_id
                )
            )
        ).first()
        if row is None:
            return None
        name = (row.full_name or "").strip() or row.email.split("@")[0]
        return MentorContact(id=row.id, email=row.email, name=name, role=row.role)

    async def admins(self, limit: int) -> list[MentorContact]:
        rows = await self._s.execute(
            select(USERS.c.id, USERS.c.email, USERS.c.full_name, USERS.c.role)
            .where(
                USERS.c.role.in_(["ADMIN", "SUPERADMIN"]),
                USERS.c.is_blocked.is_(False),
                USERS.c.deleted_at.is_(None),
            )
            .order_by(USERS.c.id)
            .limit(limit)
        )
        return [
            MentorContact(
                id=row.id,
                email=row.email,
                name=(row.full_name or "").strip() or row.email.split("@")[0],
                role=row.role,
            )
            for row in rows
        ]
