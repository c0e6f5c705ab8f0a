"""The CRM's read of the ``users`` table (identity's), cut down to ``Person``."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mas.adapters.db.crm.set_based import in_chunks
from mas.adapters.db.identity.tables import UserRow
from mas.core.crm.assignment_model import Person
from mas.core.identity.policy import Role


class SqlPeopleDirectory:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def by_ids(self, ids: list[uuid.UUID]) -> dict[uuid.UUID, Person]:
        found: dict[uuid.UUID, Person] = {}
        for chunk in in_chunks(list(dict.fromkeys(ids))):
            rows = await self._session.execute(
                select(
                    UserRow.id,
                    UserRow.email,
                    UserRow.role,
                    UserRow.full_name,
                    UserRow.deleted_at,
                    UserRow.is_blocked,
                ).where(UserRow.id.in_(chunk))
            )
            for user in rows:
                found[user.id] = Person(
                    id=user.id,
                    email=user.email,
                    role=Role(user.role),
                    name=user.full_name,
                    usable=user.deleted_at is None and not user.is_blocked,
                )
        return found
