"""Named leases in the database: every process sharing the database sees the same holder."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, insert, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mas.adapters.db.platform.tables import LeaseRow
from mas.core.platform.ids import uuid7


class SqlLeaseRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def acquire(self, name: str, holder: str, now: datetime, ttl_s: float) -> bool:
        expires = now + timedelta(seconds=ttl_s)
        renewed = await self._session.execute(
            update(LeaseRow)
            .where(
                LeaseRow.name == name,
                or_(LeaseRow.holder == holder, LeaseRow.expires_at < now),
            )
            .values(holder=holder, expires_at=expires)
            .execution_options(synchronize_session=False)
        )
        if renewed.rowcount == 1:  # type: ignore[attr-defined]
            return True
        try:
            async with self._session.begin_nested():
                await self._session.execute(
                    insert(LeaseRow).values(
                        id=uuid7(), name=name, holder=holder, expires_at=expires
                    )
                )
        except IntegrityError:
            return False  # held by someone else and not expired
        return True

    async def release(self, name: str, holder: str) -> None:
        await self._session.execute(
            delete(LeaseRow).where(LeaseRow.name == name, LeaseRow.holder == holder)
        )
