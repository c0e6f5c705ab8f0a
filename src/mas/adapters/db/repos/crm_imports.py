"""CRM imports on SQLAlchemy."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession


class SqlImportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session
