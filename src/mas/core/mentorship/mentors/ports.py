"""What the mentors part needs from storage, and its view of the unit of work.

The display name, role and state of a mentor's account live in identity's ``users`` table;
this part reads them through its own repositories (the adapter joins ``users`` in SQL), so the
core never imports identity's ports.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

from mas.core.mentorship.mentors.model import (
    LeaderboardEntry,
    MentorCard,
    MentorFilter,
    MentorProfile,
    MentorStats,
)
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.uow import UnitOfWork


class MentorRepository(Protocol):
    """Profiles (``mentors``) and the public reads joined with ``users`` and ``mentor_stats``.

    A *listed* mentor has a profile with ``is_listed``, and an account that is an EXPERT, not
    blocked and not deleted: the public reads see listed mentors only."""

    async def account_role(self, user_id: uuid.UUID) -> str | None:
        """The account's role (``users.role``); None when it is missing or deleted."""
        ...

    async def by_user(self, user_id: uuid.UUID) -> MentorProfile | None: ...

    async def add(self, profile: MentorProfile) -> None:
        """Insert; raises ``DuplicateKey`` when the user has a profile already."""
        ...

    async def save(self, profile: MentorProfile) -> None: ...

    async def set_listed(self, user_id: uuid.UUID, listed: bool, now: datetime) -> bool:
        """False when the user has no profile."""
        ...

    async def listed(self, req: PageRequest, known_total: int | None) -> Page[MentorCard]:
        """Every listed mentor, by display name (``discover``'s ``known_total``)."""
        ...

    async def discover(
        self, flt: MentorFilter, req: PageRequest, known_total: int | None
    ) -> Page[MentorCard]:
        """One page in ``flt.sort`` order, in one statement: the order, the cut and, unless
        ``known_total`` is given (then the page's total), the count."""
        ...

    async def in_category(self, category: str, sub_category: str, limit: int) -> list[MentorCard]:
        """Up to ``limit`` listed mentors of the facet, best rated first."""
        ...

    async def card(self, user_id: uuid.UUID) -> MentorCard | None:
        """The listed mentor's card; None when missing or hidden."""
        ...

    async def leaderboard(
        self, req: PageRequest, known_total: int | None
    ) -> Page[LeaderboardEntry]:
        """Listed mentors with a completed meeting, by completed meetings then average rating
        (unrated last), then id; ``rank`` is the place in that order (``discover``'s
        ``known_total``)."""
        ...

    async def leaderboard_entry(self, user_id: uuid.UUID) -> LeaderboardEntry | None:
        """The listed mentor's place (rank None before a completed meeting); None when the
        mentor is missing or hidden."""
        ...


class MentorStatsRepository(Protocol):
    """``mentor_stats``: one row per mentor, each change one atomic statement."""

    async def ensure(self, mentor_id: uuid.UUID, now: datetime) -> None:
        """Create the mentor's row unless it exists (never an error)."""
        ...

    async def add_completion(self, mentor_id: uuid.UUID, now: datetime) -> None: ...

    async def add_rating(self, mentor_id: uuid.UUID, rating: float, now: datetime) -> None:
        """Add to the sum and the count and set the average, in one statement."""
        ...

    async def shift_open_slots(self, mentor_id: uuid.UUID, delta: int, now: datetime) -> bool:
        """``open_future_slots + delta`` unless the result would be negative (False, nothing
        written)."""
        ...

    async def get(self, mentor_id: uuid.UUID) -> MentorStats | None: ...


class MentorUnitOfWork(UnitOfWork, Protocol):
    mentors: MentorRepository
    mentor_stats: MentorStatsRepository
