"""CRM assignment on SQLAlchemy."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession


class SqlAssignmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session
