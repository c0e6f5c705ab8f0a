"""CRM leads on SQLAlchemy."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession


class SqlLeadRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session
