"""Named leases in the database: every process sharing the database sees the same holder.

A lease row outlives its holders: releasing lets it lapse rather than deleting it, so the
watermark (how far the holders have got) is there for whoever takes the lease next."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mas.adapters.db.platform.tables import LeaseRow
from mas.core.platform.ids import uuid7

LAPSED = datetime(1970, 1, 1, tzinfo=UTC)
"""The expiry a released lease is given: anyone may take it, its watermark stays."""


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
            update(LeaseRow)
            .where(LeaseRow.name == name, LeaseRow.holder == holder)
            .values(expires_at=LAPSED)
            .execution_options(synchronize_session=False)
        )

    async def watermark(self, name: str) -> datetime | None:
        found = await self._session.scalar(select(LeaseRow.watermark).where(LeaseRow.name == name))
        return found

    async def set_watermark(self, name: str, holder: str, until: datetime) -> bool:
        marked = await self._session.execute(
            update(LeaseRow)
            .where(LeaseRow.name == name, LeaseRow.holder == holder)
            .values(watermark=until)
            .execution_options(synchronize_session=False)
        )
        return bool(marked.rowcount == 1)  # type: ignore[attr-defined]
