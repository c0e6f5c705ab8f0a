"""Mentor profiles, their public cards and the discovery statistics (mentorship.md §3).

A mentor is named by their **user id** everywhere outside this part (``mentor_id`` in routes,
slots and statistics): slots reference ``users``, not the profile row, so one id serves every
route of the domain. The profile row's own id is ``profile_id``.

The public projection (``MentorCard``) is built from the profile, the statistics and the
account's display name only: it has no field for an email, a phone, a Google id or a password,
so none can leak (``tests/http/test_mentorship_mentors.py`` walks every answer's keys).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Annotated

import msgspec

Text255 = Annotated[str, msgspec.Meta(max_length=255)]
Description = Annotated[str, msgspec.Meta(max_length=5000)]
Tag = Annotated[str, msgspec.Meta(max_length=64)]  # blank tags are dropped (``normalized``)
ImageUrl = Annotated[str, msgspec.Meta(min_length=1, max_length=2048, pattern=r"^https?://")]
Years = Annotated[int, msgspec.Meta(ge=0, le=80)]
MAX_EXPERTISE = 20

LEADERBOARD_MAX_PAGE_SIZE = 10
CATEGORY_PICKS = 4
DEFAULT_PAGE_SIZE = 9
MAX_PAGE_SIZE = 50


class MentorSort(enum.StrEnum):
    """``sortBy`` of paginated discovery; every order ends with the mentor id (stable pages)."""

    SLOTS = "slots"  # most open future slots first
    ALPHABETICAL = "alphabetical"  # display name A→Z, unnamed last
    EXPERIENCE = "experience"  # most years first
    RATING = "rating"  # best average first, unrated last
    MEETS = "meets"  # most completed meetings first


class ProfileInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """What an EXPERT writes on their own profile (the whole profile: a PUT)."""

    company: Text255
    role: Text255
    category: Text255
    sub_category: Text255
    institute: Text255 = ""
    description: Description = ""
    expertise: Annotated[list[Tag], msgspec.Meta(max_length=MAX_EXPERTISE)] = []
    experience_years: Years = 0
    image: ImageUrl | None = None

    def normalized(self) -> ProfileInput:
        """Tags trimmed and de-duplicated (case-insensitively, first spelling kept); the
        facets trimmed, so that a filter finds what the list shows."""
        seen: set[str] = set()
        tags: list[str] = []
        for tag in (t.strip() for t in self.expertise):
            if tag and tag.lower() not in seen:
                seen.add(tag.lower())
                tags.append(tag)
        return msgspec.structs.replace(
            self,
            company=self.company.strip(),
            role=self.role.strip(),
            category=self.category.strip(),
            sub_category=self.sub_category.strip(),
            institute=self.institute.strip(),
            expertise=tags,
        )


class Listing(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An ADMIN's switch: a hidden mentor is absent from every public route."""

    is_listed: bool


class MentorProfile(msgspec.Struct, frozen=True, kw_only=True):
    """The profile row (``mentors``), as its owner and the admins see it."""

    id: uuid.UUID
    user_id: uuid.UUID
    company: str
    role: str
    institute: str
    description: str
    category: str
    sub_category: str
    expertise: list[str]
    experience_years: int
    image: str | None
    is_listed: bool
    created_at: datetime
    updated_at: datetime

    def edited(self, data: ProfileInput, now: datetime) -> MentorProfile:
        """The owner's edit: every written field replaced; the listing stays the admins'."""
        return msgspec.structs.replace(
            self,
            company=data.company,
            role=data.role,
            institute=data.institute,
            description=data.description,
            category=data.category,
            sub_category=data.sub_category,
            expertise=list(data.expertise),
            experience_years=data.experience_years,
            image=data.image,
            updated_at=now,
        )


class MentorStats(msgspec.Struct, frozen=True, kw_only=True):
    """A mentor's counters (``mentor_stats``), kept by the meetings part through
    ``StatsBook`` in its own unit of work."""

    mentor_id: uuid.UUID
    completed_meets: int = 0
    rating_sum: float = 0.0
    rating_count: int = 0
    avg_rating: float | None = None
    open_future_slots: int = 0


class MentorCard(msgspec.Struct, frozen=True, kw_only=True):
    """The public projection of a listed mentor: profile, display name and statistics."""

    mentor_id: uuid.UUID
    profile_id: uuid.UUID
    name: str | None
    company: str
    role: str
    institute: str
    description: str
    category: str
    sub_category: str
    expertise: list[str]
    experience_years: int
    image: str | None
    slots_left: int
    completed_meets: int
    avg_rating: float | None
    rating_count: int


class MentorPicks(msgspec.Struct, frozen=True):
    """A facet's few mentors (``CATEGORY_PICKS`` at most), best rated first."""

    items: list[MentorCard]


class LeaderboardEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One mentor's place: ``rank`` is None (and the counts zero) before a completed meeting."""

    rank: int | None
    mentor_id: uuid.UUID
    name: str | None
    company: str
    role: str
    image: str | None
    completed_meets: int
    avg_rating: float | None
    rating_count: int


class MentorFilter(msgspec.Struct, frozen=True, kw_only=True):
    """Paginated discovery's filters: ``search`` in the display name (case-insensitive),
    ``companies`` and ``expertise`` match any of the given values (case-insensitive)."""

    search: str | None = None
    companies: tuple[str, ...] = ()
    expertise: tuple[str, ...] = ()
    sort: MentorSort = MentorSort.RATING

    def cleaned(self) -> MentorFilter:
        def values(given: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(sorted({v.strip().lower() for v in given if v.strip()}))

        search = (self.search or "").strip().lower() or None
        return MentorFilter(
            search=search,
            companies=values(self.companies),
            expertise=values(self.expertise),
            sort=self.sort,
        )
