"""``system_config`` on SQLAlchemy: one row per key, written by upsert."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from mas.adapters.db.crm.set_based import upsert
from mas.adapters.db.crm.tables import SystemConfigRow
from mas.core.crm.ports.system_config import StoredConfig
from mas.core.platform.ids import uuid7


class SqlSystemConfigRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, key: str) -> StoredConfig | None:
        row = (
            await self._session.execute(select(SystemConfigRow).where(SystemConfigRow.key == key))
        ).scalar_one_or_none()
        return StoredConfig(row.value, row.updated_at, row.updated_by) if row else None

    async def put(self, key: str, value: Any, by: uuid.UUID, now: datetime) -> None:
        row = {
            "id": uuid7(),
            "key": key,
            "value": value,
            "updated_by": by,
            "created_at": now,
            "updated_at": now,
        }
        await upsert(
            self._session,
            cast(Table, SystemConfigRow.__table__),
            [row],
            ["key"],
            ["value", "updated_by", "updated_at"],
        )
