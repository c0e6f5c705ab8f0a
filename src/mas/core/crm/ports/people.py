"""The CRM's read of identity's users: the few fields assignment needs about a person."""

from __future__ import annotations

import uuid
from typing import Protocol

from mas.core.crm.assignment_model import Person


class PeopleDirectory(Protocol):
    async def by_ids(self, ids: list[uuid.UUID]) -> dict[uuid.UUID, Person]:
        """The users with these ids (deleted and blocked ones included, marked not usable)."""
        ...
