"""Mentor profiles, discovery, the leaderboard and the statistics book on SQLite and PostgreSQL
(mentorship.md §3 MentorProfile, §5 the mentor routes, §9 checks 12 and 13)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import update

from mas.adapters.db.identity.tables import UserRow
from mas.core.identity.model import User
from mas.core.identity.policy import Caller, Platform, Role
from mas.core.mentorship.mentors.model import Listing, MentorFilter, MentorSort, ProfileInput
from mas.core.mentorship.mentors.stats import check_rating
from mas.core.platform.errors import Conflict, Forbidden, NotFound, ValidationFailed
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import PageRequest


async def account(c: Any, role: Role = Role.EXPERT, name: str | None = "Asha Rao") -> Caller:
    """An account with every private field set, so that a leak would show."""
    user = User(
        id=uuid7(),
        email=f"{role.value.lower()}-{uuid.uuid4().hex[:8]}@example.com",
        role=role,
        created_at=c.clock.now(),
        full_name=name,
        phone=f"+9198{uuid.uuid4().int % 10**8:08d}",
        google_id=f"g-{uuid.uuid4().hex}",
        password_hash="argon2-not-a-real-hash",
    )
    async with c.uow() as uow:
        await uow.users.add(user)
        await uow.commit()
    return Caller(user_id=user.id, role=role, platform=Platform.MY_ANALYTICS_SCHOOL)


def profile_input(**given: Any) -> ProfileInput:
    values: dict[str, Any] = {
        "company": "Acme",
        "role": "Data Scientist",
        "category": "Data",
        "sub_category": "Analytics",
        "expertise": ["SQL", "Python"],
        "experience_years": 5,
    }
    values.update(given)
    return ProfileInput(**values)


async def mentor(c: Any, name: str | None = "Asha Rao", **given: Any) -> uuid.UUID:
    caller = await account(c, name=name)
    await c.mentorship.mentors.profiles.write_mine(caller, profile_input(**given))
    return caller.user_id


async def stats(
    c: Any,
    mentor_id: uuid.UUID,
    *,
    meets: int = 0,
    ratings: tuple[float, ...] = (),
    slots: int = 0,
) -> None:
    book = c.mentorship.mentors.stats
    async with c.uow() as uow:
        for _ in range(meets):
            await book.record_completion(uow, mentor_id)
        for rating in ratings:
            await book.record_rating(uow, mentor_id, rating)
        await book.adjust_open_slots(uow, mentor_id, slots)
        await uow.commit()


async def read_stats(c: Any, mentor_id: uuid.UUID) -> Any:
    async with c.uow() as uow:
        return await c.mentorship.mentors.stats.read(uow, mentor_id)


# --- profiles --------------------------------------------------------------------------------


async def test_an_expert_writes_their_profile_and_an_admin_hides_it(container: Any) -> None:
    profiles = container.mentorship.mentors.profiles
    caller = await account(container)
    with pytest.raises(NotFound) as missing:
        await profiles.mine(caller)
    assert missing.value.code == "mentor_profile_missing"
    created = await profiles.write_mine(
        caller, profile_input(expertise=[" SQL ", "sql", "Python", ""], company=" Acme ")
    )
    assert created.is_listed and created.user_id == caller.user_id
    assert (created.company, created.expertise) == ("Acme", ["SQL", "Python"])
    assert (await read_stats(container, caller.user_id)).completed_meets == 0
    hidden = await profiles.set_listing(caller.user_id, Listing(is_listed=False))
    assert hidden.is_listed is False
    edited = await profiles.write_mine(caller, profile_input(company="Globex"))
    # The owner's edit replaces the fields, never the admins' switch.
    assert (edited.id, edited.company, edited.is_listed) == (created.id, "Globex", False)
    assert await profiles.mine(caller) == edited
    with pytest.raises(NotFound):
        await profiles.set_listing(uuid7(), Listing(is_listed=True))


@pytest.mark.parametrize("role", [Role.ADMIN, Role.USER])
async def test_only_an_expert_account_has_a_profile(container: Any, role: Role) -> None:
    caller = await account(container, role)
    with pytest.raises(Forbidden) as refused:
        await container.mentorship.mentors.profiles.write_mine(caller, profile_input())
    assert refused.value.code == "mentor_role_required"


# --- the statistics book ------------------------------------------------------------------------


async def test_the_book_counts_in_the_callers_unit_of_work(container: Any) -> None:
    mentor_id = (await account(container)).user_id
    assert (await read_stats(container, mentor_id)).avg_rating is None
    await stats(container, mentor_id, meets=2, ratings=(4.5, 3.0), slots=3)
    read = await read_stats(container, mentor_id)
    assert (read.completed_meets, read.rating_count, read.rating_sum) == (2, 2, 7.5)
    assert (read.avg_rating, read.open_future_slots) == (3.75, 3)
    book = container.mentorship.mentors.stats
    async with container.uow() as uow:  # not committed: nothing moves
        await book.record_completion(uow, mentor_id)
        await book.adjust_open_slots(uow, mentor_id, -3)
    async with container.uow() as uow:
        await book.adjust_open_slots(uow, mentor_id, -1)
        with pytest.raises(Conflict) as below:
            await book.adjust_open_slots(uow, mentor_id, -3)
        assert below.value.code == "open_slots_negative"
        await book.adjust_open_slots(uow, mentor_id, 0)
        await uow.commit()
    read = await read_stats(container, mentor_id)
    assert (read.completed_meets, read.open_future_slots) == (2, 2)


@pytest.mark.parametrize("rating", [0.5, 5.5, 4.2, 0.0, float("nan")])
def test_a_rating_is_one_to_five_in_halves(rating: float) -> None:
    with pytest.raises(ValidationFailed):
        check_rating(rating)


def test_whole_and_half_ratings_pass() -> None:
    assert [check_rating(r) for r in (1, 1.5, 5)] == [1.0, 1.5, 5.0]


# --- discovery ---------------------------------------------------------------------------------


async def discover(c: Any, page: int = 1, limit: int = 9, **flt: Any) -> Any:
    return await c.mentorship.mentors.discovery.page(MentorFilter(**flt), PageRequest(page, limit))


def ids(page: Any) -> list[uuid.UUID]:
    return [card.mentor_id for card in page.items]


async def test_each_order_of_discovery(container: Any) -> None:
    a = await mentor(container, "Bela", experience_years=2)
    b = await mentor(container, "anil", experience_years=9)
    c = await mentor(container, "Chitra", experience_years=4)
    d = await mentor(container, None, experience_years=1)
    await stats(container, a, meets=1, ratings=(4.0,), slots=5)
    await stats(container, b, meets=3, ratings=(5.0,), slots=1)
    await stats(container, c, meets=3, ratings=(3.0,))
    expected = {
        MentorSort.RATING: [b, a, c],  # d unrated: last
        MentorSort.MEETS: [b, c, a],  # 3, 3 (5.0 before 3.0), 1
        MentorSort.SLOTS: [a, b],
        MentorSort.EXPERIENCE: [b, c, a, d],
        MentorSort.ALPHABETICAL: [b, a, c, d],  # case-insensitive, unnamed last
    }
    for sort, leading in expected.items():
        found = ids(await discover(container, sort=sort))
        assert found[: len(leading)] == leading, sort
        assert sorted(found, key=str) == sorted([a, b, c, d], key=str)
    assert ids(await discover(container, sort=MentorSort.RATING))[-1] == d
    card = (await discover(container, sort=MentorSort.RATING)).items[0]
    assert (card.avg_rating, card.completed_meets, card.rating_count, card.slots_left) == (
        5.0,
        3,
        1,
        1,
    )


async def test_pages_and_their_total(container: Any) -> None:
    made = [await mentor(container, f"M{i}") for i in range(5)]
    first = await discover(container, limit=2, sort=MentorSort.ALPHABETICAL)
    third = await discover(container, page=3, limit=2, sort=MentorSort.ALPHABETICAL)
    beyond = await discover(container, page=9, limit=2, sort=MentorSort.ALPHABETICAL)
    assert (first.total, len(first.items), first.page_size) == (5, 2, 2)
    assert (third.total, ids(third)) == (5, [made[4]])
    assert (beyond.total, beyond.items) == (5, [])
    nothing = await discover(container, search="nobody")
    assert (nothing.total, nothing.items) == (0, [])


async def test_filters_match_case_insensitively(container: Any) -> None:
    sql = await mentor(container, "Ravi Kumar", company="Acme", expertise=["SQL", "dbt"])
    ml = await mentor(container, "Priya 100%", company="Globex", expertise=["Machine Learning"])
    await mentor(container, "Kumari", company="Initech", expertise=["Excel"])
    assert ids(await discover(container, search="KUMAR")) != []
    assert set(ids(await discover(container, search="ravi"))) == {sql}
    # A wildcard in the search is a character, not a pattern.
    assert ids(await discover(container, search="100%")) == [ml]
    assert ids(await discover(container, search="%")) == [ml]
    assert set(ids(await discover(container, companies=("acme", "GLOBEX")))) == {sql, ml}
    assert ids(await discover(container, expertise=("machine learning",))) == [ml]
    assert ids(await discover(container, expertise=("DBT", "nothing"), companies=("Acme",))) == [
        sql
    ]
    assert ids(await discover(container, expertise=("excel",), companies=("acme",))) == []
    # Blank values are no filter at all.
    assert (await discover(container, companies=(" ",), search="  ")).total == 3


async def test_hidden_blocked_deleted_and_re_roled_mentors_are_not_listed(container: Any) -> None:
    shown = await mentor(container, "Shown")
    hidden, blocked, deleted, demoted = [await mentor(container, n) for n in "HBDX"]
    await container.mentorship.mentors.profiles.set_listing(hidden, Listing(is_listed=False))
    async with container.sessions() as session:
        for user_id, values in (
            (blocked, {"is_blocked": True}),
            (deleted, {"deleted_at": container.clock.now()}),
            (demoted, {"role": Role.USER.value}),
        ):
            await session.execute(update(UserRow).where(UserRow.id == user_id).values(**values))
        await session.commit()
    discovery = container.mentorship.mentors.discovery
    assert ids(await discover(container)) == [shown]
    assert ids(await discovery.listed(PageRequest(1, 50))) == [shown]
    for gone in (hidden, blocked, deleted, demoted):
        with pytest.raises(NotFound):
            await discovery.card(gone)
        with pytest.raises(NotFound):
            await discovery.leaderboard_entry(gone)


async def test_a_category_gives_up_to_four_best_rated_first(container: Any) -> None:
    facet = {"category": "Data", "sub_category": "Analytics"}
    made = [await mentor(container, f"D{i}", **facet) for i in range(5)]
    other = await mentor(container, "Other", category="Data", sub_category="Engineering")
    for i, mentor_id in enumerate(made[:4]):
        await stats(container, mentor_id, ratings=(1.0 + i,))
    await stats(container, other, ratings=(5.0,))
    picks = await container.mentorship.mentors.discovery.in_category(" Data ", "Analytics")
    assert [card.mentor_id for card in picks] == [made[3], made[2], made[1], made[0]]
    assert await container.mentorship.mentors.discovery.in_category("Data", " ") == []


async def test_one_profile_with_its_rating_and_meetings(container: Any) -> None:
    mentor_id = await mentor(container, "Asha", description="Ten years of SQL", image=None)
    await stats(container, mentor_id, meets=4, ratings=(5.0, 4.0))
    card = await container.mentorship.mentors.discovery.card(mentor_id)
    assert (card.name, card.description, card.completed_meets, card.avg_rating) == (
        "Asha",
        "Ten years of SQL",
        4,
        4.5,
    )
    with pytest.raises(NotFound):
        await container.mentorship.mentors.discovery.card(uuid7())


# --- the leaderboard ---------------------------------------------------------------------------


async def test_the_leaderboard_ranks_meets_then_rating(container: Any) -> None:
    first = await mentor(container, "First")
    second = await mentor(container, "Second")
    third = await mentor(container, "Third")
    unrated = await mentor(container, "Unrated")
    newcomer = await mentor(container, "Newcomer")
    await stats(container, first, meets=5, ratings=(3.0,))
    await stats(container, second, meets=2, ratings=(5.0,))
    await stats(container, third, meets=2, ratings=(4.0,))
    await stats(container, unrated, meets=2)
    discovery = container.mentorship.mentors.discovery
    board = await discovery.leaderboard(PageRequest(1, 10))
    assert [(e.rank, e.mentor_id) for e in board.items] == [
        (1, first),
        (2, second),
        (3, third),
        (4, unrated),
    ]
    assert board.total == 4
    second_page = await discovery.leaderboard(PageRequest(2, 3))
    assert [(e.rank, e.mentor_id) for e in second_page.items] == [(4, unrated)]
    assert (await discovery.leaderboard(PageRequest(5, 3))).total == 4
    entry = await discovery.leaderboard_entry(third)
    assert (entry.rank, entry.completed_meets, entry.avg_rating) == (3, 2, 4.0)
    fresh = await discovery.leaderboard_entry(newcomer)
    assert (fresh.rank, fresh.completed_meets, fresh.avg_rating, fresh.rating_count) == (
        None,
        0,
        None,
        0,
    )
