"""Persistence port of sales-head profiles (page flags, isolation, approval gate, auto-assign
strategy and its round-robin cursor)."""

from __future__ import annotations

import uuid
from typing import Protocol

from mas.core.crm.assignment_model import SalesHeadProfile


class HeadProfileRepository(Protocol):
    async def get(self, user_id: uuid.UUID, *, lock: bool = False) -> SalesHeadProfile | None:
        """``lock``: hold the row to the end of the transaction (the round-robin cursor)."""
        ...

    async def all(self) -> list[SalesHeadProfile]:
        """Every profile, by display name."""
        ...

    async def add(self, profile: SalesHeadProfile) -> None:
        """Raises ``DuplicateKey`` when the user has a profile."""
        ...

    async def save(self, profile: SalesHeadProfile) -> None: ...
