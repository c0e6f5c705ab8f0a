"""The public reads of mentors (mentorship.md §5): the list, paginated discovery, a facet's
picks, one profile and the leaderboard. Everything is read in SQL (filters, order, cut and
total), never sorted here: discovery pages through thousands of mentors on every visit. The
totals are remembered a few seconds (``totals.TotalsMemo`` says why).
"""

from __future__ import annotations

import uuid

from mas.core.mentorship.mentors.model import (
    CATEGORY_PICKS,
    LeaderboardEntry,
    MentorCard,
    MentorFilter,
)
from mas.core.mentorship.mentors.ports import MentorUnitOfWork
from mas.core.mentorship.mentors.totals import TotalsMemo
from mas.core.platform.errors import NotFound
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.uow import UnitOfWorkFactory


class MentorDiscovery:
    def __init__(self, uow: UnitOfWorkFactory[MentorUnitOfWork], totals: TotalsMemo) -> None:
        self._uow = uow
        self._totals = totals

    async def listed(self, req: PageRequest) -> Page[MentorCard]:
        known = self._totals.get("listed")
        async with self._uow() as uow:
            page = await uow.mentors.listed(req, known)
        if known is None:
            self._totals.put("listed", page.total)
        return page

    async def page(self, flt: MentorFilter, req: PageRequest) -> Page[MentorCard]:
        clean = flt.cleaned()
        key = ("discover", clean.search, clean.companies, clean.expertise)
        known = self._totals.get(key)
        async with self._uow() as uow:
            page = await uow.mentors.discover(clean, req, known)
        if known is None:
            self._totals.put(key, page.total)
        return page

    async def in_category(self, category: str, sub_category: str) -> list[MentorCard]:
        """Facets match as the profile list shows them (trimmed); a blank one matches none."""
        async with self._uow() as uow:
            return await uow.mentors.in_category(
                category.strip(), sub_category.strip(), CATEGORY_PICKS
            )

    async def card(self, mentor_id: uuid.UUID) -> MentorCard:
        async with self._uow() as uow:
            found = await uow.mentors.card(mentor_id)
        if found is None:
            raise NotFound(f"mentor {mentor_id} not found")
        return found

    async def leaderboard(self, req: PageRequest) -> Page[LeaderboardEntry]:
        known = self._totals.get("leaderboard")
        async with self._uow() as uow:
            page = await uow.mentors.leaderboard(req, known)
        if known is None:
            self._totals.put("leaderboard", page.total)
        return page

    async def leaderboard_entry(self, mentor_id: uuid.UUID) -> LeaderboardEntry:
        async with self._uow() as uow:
            found = await uow.mentors.leaderboard_entry(mentor_id)
        if found is None:
            raise NotFound(f"mentor {mentor_id} not found")
        return found
