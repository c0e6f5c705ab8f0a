"""Persistence port of sales teams: who works in which head's team, in which role."""

from __future__ import annotations

import uuid
from typing import Protocol

from mas.core.crm.assignment_model import TeamMember


class TeamRepository(Protocol):
    async def member(self, member_id: uuid.UUID) -> TeamMember | None: ...

    async def membership_of(self, user_id: uuid.UUID) -> TeamMember | None:
        """The user's active membership, if any."""
        ...

    async def members(self, head_id: uuid.UUID | None, *, active_only: bool) -> list[TeamMember]:
        """A head's team (every team when None), oldest member first."""
        ...

    async def add_member(self, member: TeamMember) -> None:
        """Raises ``DuplicateKey`` when the user already has an active membership."""
        ...

    async def save_member(self, member: TeamMember) -> None: ...
