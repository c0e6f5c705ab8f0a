"""Sales-team membership on SQLAlchemy; a member is read with their name from ``users``."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mas.adapters.db.crm.tables import SalesTeamMemberRow
from mas.adapters.db.identity.tables import UserRow
from mas.core.crm.assignment_model import TeamMember
from mas.core.platform.ports.uow import DuplicateKey


def _to_member(row: SalesTeamMemberRow, name: str | None) -> TeamMember:
    member = msgspec.convert(row, TeamMember, from_attributes=True)
    member.name = name or ""
    return member


def _members_query() -> Any:
    return select(SalesTeamMemberRow, func.coalesce(UserRow.full_name, UserRow.email)).join(
        UserRow, UserRow.id == SalesTeamMemberRow.user_id
    )


class SqlTeamRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def _one(self, *where: Any) -> TeamMember | None:
        found = (
            await self._session.execute(
                _members_query().where(*where).execution_options(populate_existing=True)
            )
        ).one_or_none()
        return _to_member(*found) if found else None

    async def member(self, member_id: uuid.UUID) -> TeamMember | None:
        return await self._one(SalesTeamMemberRow.id == member_id)

    async def membership_of(self, user_id: uuid.UUID) -> TeamMember | None:
        return await self._one(
            SalesTeamMemberRow.user_id == user_id, SalesTeamMemberRow.active.is_(True)
        )

    async def members(self, head_id: uuid.UUID | None, *, active_only: bool) -> list[TeamMember]:
        statement = _members_query().order_by(SalesTeamMemberRow.joined_at, SalesTeamMemberRow.id)
        if head_id is not None:
            statement = statement.where(SalesTeamMemberRow.sales_head_id == head_id)
        if active_only:
            statement = statement.where(SalesTeamMemberRow.active.is_(True))
        rows = await self._session.execute(statement.execution_options(populate_existing=True))
        return [_to_member(member, name) for member, name in rows]

    async def add_member(self, member: TeamMember) -> None:
        values = {
            name: getattr(member, name) for name in member.__struct_fields__ if name != "name"
        }
        values["member_role"] = member.member_role.value
        try:
            async with self._session.begin_nested():
                await self._session.execute(insert(SalesTeamMemberRow).values(**values))
        except IntegrityError:
            raise DuplicateKey(f"active membership of {member.user_id}") from None

    async def save_member(self, member: TeamMember) -> None:
        await self._session.execute(
            update(SalesTeamMemberRow)
            .where(SalesTeamMemberRow.id == member.id)
            .values(
                member_role=member.member_role.value,
                daily_capacity=member.daily_capacity,
                available=member.available,
                active=member.active,
                left_at=member.left_at,
            )
            .execution_options(synchronize_session=False)
        )
