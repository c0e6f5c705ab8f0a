"""Mentors over HTTP: public discovery (``/api/mentors``…), an EXPERT's own profile
(``/api/mentors/me/profile``) and the admins' listing switch
(``/api/admin/mentors/{mentor_id}/listing``).

``mentor_id`` is the mentor's **user id** on every route (the id slots and meetings carry).
The query names of discovery are the original API's (``sortBy``, ``companies[]``,
``expertise[]``, ``subCategory``), so its clients keep working; the page size is the house's
``page_size``, and the original ``limit`` (discovery) and ``perPage`` (leaderboard) are
accepted for it (used while ``page_size`` keeps its default). A facet's picks (four at most,
not a list to page through) answer ``{items: [...]}``.

The spec lists only reads; a profile is written by its owner with a PUT of the whole profile
(the first PUT creates it), which is why the path says ``me``: nobody writes another's
profile, and an admin only hides or shows one.
"""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec
from litestar import get, put
from litestar.params import FromPath, JSONBody, QueryParameter

from mas.core.mentorship.mentors.model import (
    DEFAULT_PAGE_SIZE,
    LEADERBOARD_MAX_PAGE_SIZE,
    MAX_PAGE_SIZE,
    LeaderboardEntry,
    Listing,
    MentorCard,
    MentorFilter,
    MentorPicks,
    MentorProfile,
    MentorSort,
    ProfileInput,
)
from mas.core.platform.paging import Page, PageRequest
from mas.http.mentorship import Mentorship, MentorshipController
from mas.http.params import CallerDep, PageNo, PageSize

Facet = Annotated[str, msgspec.Meta(max_length=255)]
Values = Annotated[list[Facet], msgspec.Meta(max_length=20)]
DiscoveryPageSize = Annotated[
    int,
    QueryParameter(ge=1, le=MAX_PAGE_SIZE, description=f"mentors per page (max {MAX_PAGE_SIZE})"),
]
Limit = Annotated[
    int,
    QueryParameter(
        ge=1,
        le=MAX_PAGE_SIZE,
        description="the original API's name of page_size, used while page_size keeps its default",
    ),
]
BoardPageSize = Annotated[
    int,
    QueryParameter(
        ge=1,
        le=LEADERBOARD_MAX_PAGE_SIZE,
        description=f"entries per page (max {LEADERBOARD_MAX_PAGE_SIZE})",
    ),
]
PerPage = Annotated[
    int,
    QueryParameter(
        name="perPage",
        ge=1,
        le=LEADERBOARD_MAX_PAGE_SIZE,
        description="the original API's name of page_size, used while page_size keeps its default",
    ),
]
Search = Annotated[
    str | None,
    QueryParameter(
        max_length=100,
        description="part of the mentor's name (case-insensitive)",
        schema_extra={"one_of": None, "type": "string"},
    ),
]
Companies = Annotated[
    Values | None,
    QueryParameter(
        name="companies[]", max_items=20, description="any of these companies (case-insensitive)"
    ),
]
Expertise = Annotated[
    Values | None,
    QueryParameter(
        name="expertise[]",
        max_items=20,
        description="any of these expertise tags (case-insensitive)",
    ),
]
SortBy = Annotated[
    MentorSort,
    QueryParameter(
        name="sortBy",
        description="slots, alphabetical, experience, rating (unrated last) or meets",
    ),
]
Category = Annotated[str, QueryParameter(min_length=1, max_length=255, description="category")]
SubCategory = Annotated[
    str,
    QueryParameter(name="subCategory", min_length=1, max_length=255, description="sub-category"),
]

PROFILE_RULES = {
    "mentor_role_required": "only an EXPERT account has a mentor profile",
    "mentor_profile_exists": "two first writes raced; the other one created the profile",
}


class MentorDiscoveryController(MentorshipController):
    path = "/api/mentors"
    tags = ["mentorship: mentors"]
    opt = {"public": True}

    @get("/", operation_id="listMentors", summary="Listed mentors, by name")
    async def list_mentors(
        self, mentorship: Mentorship, page: PageNo = 1, page_size: PageSize = 100
    ) -> Page[MentorCard]:
        return await mentorship.mentors.discovery.listed(PageRequest(page, page_size))

    @get(
        "/paginated",
        operation_id="discoverMentors",
        summary="Find mentors: by name, companies and expertise, in one of five orders",
    )
    async def paginated(
        self,
        mentorship: Mentorship,
        page: PageNo = 1,
        page_size: DiscoveryPageSize = DEFAULT_PAGE_SIZE,
        limit: Limit = DEFAULT_PAGE_SIZE,
        search: Search = None,
        companies: Companies = None,
        expertise: Expertise = None,
        sort_by: SortBy = MentorSort.RATING,
    ) -> Page[MentorCard]:
        flt = MentorFilter(
            search=search,
            companies=tuple(companies or ()),
            expertise=tuple(expertise or ()),
            sort=sort_by,
        )
        size = page_size if page_size != DEFAULT_PAGE_SIZE else limit
        return await mentorship.mentors.discovery.page(flt, PageRequest(page, size))

    @get(
        "/category",
        operation_id="mentorsInCategory",
        summary="Up to four mentors of a category and sub-category, best rated first",
    )
    async def category(
        self, mentorship: Mentorship, category: Category, sub_category: SubCategory
    ) -> MentorPicks:
        picks = await mentorship.mentors.discovery.in_category(category, sub_category)
        return MentorPicks(items=picks)

    @get(
        "/{mentor_id:uuid}/profile",
        operation_id="mentorProfile",
        summary="A mentor's profile with their average rating and completed meetings",
    )
    async def profile(self, mentorship: Mentorship, mentor_id: FromPath[uuid.UUID]) -> MentorCard:
        return await mentorship.mentors.discovery.card(mentor_id)

    @get(
        "/leaderboard",
        operation_id="mentorLeaderboard",
        summary="Mentors by completed meetings, then average rating",
    )
    async def leaderboard(
        self,
        mentorship: Mentorship,
        page: PageNo = 1,
        page_size: BoardPageSize = LEADERBOARD_MAX_PAGE_SIZE,
        per_page: PerPage = LEADERBOARD_MAX_PAGE_SIZE,
    ) -> Page[LeaderboardEntry]:
        size = page_size if page_size != LEADERBOARD_MAX_PAGE_SIZE else per_page
        return await mentorship.mentors.discovery.leaderboard(PageRequest(page, size))

    @get(
        "/{mentor_id:uuid}/leaderboard",
        operation_id="mentorLeaderboardEntry",
        summary="One mentor's place on the leaderboard (no rank before a completed meeting)",
    )
    async def leaderboard_entry(
        self, mentorship: Mentorship, mentor_id: FromPath[uuid.UUID]
    ) -> LeaderboardEntry:
        return await mentorship.mentors.discovery.leaderboard_entry(mentor_id)


class MyMentorProfileController(MentorshipController):
    path = "/api/mentors/me/profile"
    tags = ["mentorship: mentors"]
    opt = {"policy": "expert"}

    @get(
        "/",
        operation_id="myMentorProfile",
        summary="My mentor profile (with its listing state)",
        opt={
            "rules": {"mentor_profile_missing": "the profile is created by its first PUT"},
            "rules_status": 404,
        },
    )
    async def mine(self, mentorship: Mentorship, caller: CallerDep) -> MentorProfile:
        return await mentorship.mentors.profiles.mine(caller)

    @put(
        "/",
        operation_id="writeMyMentorProfile",
        summary="Create or replace my mentor profile (EXPERT accounts)",
        opt={
            "rules": PROFILE_RULES,
            "rules_status": {"mentor_role_required": 403, "mentor_profile_exists": 409},
        },
    )
    async def write(
        self, mentorship: Mentorship, caller: CallerDep, data: JSONBody[ProfileInput]
    ) -> MentorProfile:
        return await mentorship.mentors.profiles.write_mine(caller, data)


class MentorListingController(MentorshipController):
    path = "/api/admin/mentors"
    tags = ["mentorship: mentors"]
    opt = {"policy": "admin"}

    @put(
        "/{mentor_id:uuid}/listing",
        operation_id="setMentorListing",
        summary="Show or hide a mentor in discovery",
    )
    async def set_listing(
        self, mentorship: Mentorship, mentor_id: FromPath[uuid.UUID], data: JSONBody[Listing]
    ) -> MentorProfile:
        return await mentorship.mentors.profiles.set_listing(mentor_id, data)
