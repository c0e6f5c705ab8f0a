"""Sales-head profiles on SQLAlchemy."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mas.adapters.db.crm.tables import SalesHeadProfileRow
from mas.core.crm.assignment_model import SalesHeadProfile
from mas.core.platform.ids import uuid7
from mas.core.platform.ports.uow import DuplicateKey


def _values(profile: SalesHeadProfile) -> dict[str, Any]:
    values = {name: getattr(profile, name) for name in profile.__struct_fields__}
    values["assignment_strategy"] = profile.assignment_strategy.value
    return values


class SqlHeadProfileRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, user_id: uuid.UUID, *, lock: bool = False) -> SalesHeadProfile | None:
        statement = select(SalesHeadProfileRow).where(SalesHeadProfileRow.user_id == user_id)
        if lock:
            statement = statement.with_for_update()
        row = (
            await self._session.execute(statement.execution_options(populate_existing=True))
        ).scalar_one_or_none()
        return msgspec.convert(row, SalesHeadProfile, from_attributes=True) if row else None

    async def all(self) -> list[SalesHeadProfile]:
        rows = await self._session.execute(
            select(SalesHeadProfileRow).order_by(SalesHeadProfileRow.display_name)
        )
        return [
            msgspec.convert(row, SalesHeadProfile, from_attributes=True) for row in rows.scalars()
        ]

    async def add(self, profile: SalesHeadProfile) -> None:
        try:
            async with self._session.begin_nested():
                await self._session.execute(
                    insert(SalesHeadProfileRow).values(id=uuid7(), **_values(profile))
                )
        except IntegrityError:
            raise DuplicateKey(f"sales head profile {profile.user_id}") from None

    async def save(self, profile: SalesHeadProfile) -> None:
        values = _values(profile)
        values.pop("created_at")
        await self._session.execute(
            update(SalesHeadProfileRow)
            .where(SalesHeadProfileRow.user_id == profile.user_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
