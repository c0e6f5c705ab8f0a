"""Persistence port of daily targets, their stored actuals and the activities that count."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Protocol

from mas.core.crm.targets_model import ActivityFact, Actuals, DailyTarget


class TargetRepository(Protocol):
    async def upsert(self, rows: list[DailyTarget]) -> None: ...

    async def in_range(
        self, person_ids: list[uuid.UUID] | None, start: date, end: date
    ) -> list[DailyTarget]:
        """Targets in [start, end] of these people (everyone's when None), by date then person."""
        ...

    async def stored_actuals(
        self, person_ids: list[uuid.UUID] | None, start: date, end: date
    ) -> list[Actuals]: ...

    async def upsert_actuals(self, rows: list[Actuals]) -> None: ...

    async def activity_facts(
        self, actor_ids: list[uuid.UUID] | None, start: datetime, end: datetime
    ) -> list[ActivityFact]:
        """Counted activities (see ``targets_model``) with an actor, in [start, end)."""
        ...

    async def people_with_targets(self, day: date) -> list[uuid.UUID]: ...
