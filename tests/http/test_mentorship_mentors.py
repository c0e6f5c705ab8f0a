"""Mentors over HTTP: the public discovery routes, an EXPERT's own profile and the admins'
listing switch (mentorship.md §5, §9 checks 12 and 13). No answer may carry a password, a
Google id, an email or a phone: every route's JSON keys are walked."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from mas.core.identity.model import User
from mas.core.identity.policy import Role
from tests.http.conftest import Auth
from tests.integration.test_mentorship_mentors import mentor, stats

Client = AsyncTestClient[Any]
PUBLIC = {"X-Platform": "my-analytics-school"}
PRIVATE_WORDS = ("password", "google", "email", "phone")


def keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield str(key)
            yield from keys(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from keys(inner)


def private_keys(payload: Any) -> list[str]:
    return [k for k in keys(payload) if any(word in k.lower() for word in PRIVATE_WORDS)]


async def ok(client: Client, path: str, headers: dict[str, str] | None = None) -> Any:
    answer = await client.get(path, headers=headers or PUBLIC)
    assert answer.status_code == 200, (path, answer.text)
    payload = answer.json()
    assert private_keys(payload) == [], (path, private_keys(payload))
    for secret_looking in ("@example.com", "+9198", "argon2"):
        assert secret_looking not in answer.text, (path, secret_looking)
    return payload


@pytest.fixture
async def seeded(sqlite_container: Any) -> dict[str, uuid.UUID]:
    c = sqlite_container
    top = await mentor(c, "Top Mentor", company="Acme", expertise=["SQL"])
    mid = await mentor(c, "Mid Mentor", company="Globex", expertise=["Python"])
    new = await mentor(c, "New Mentor", company="Acme", expertise=["Excel"])
    await stats(c, top, meets=4, ratings=(5.0, 4.0), slots=2)
    await stats(c, mid, meets=1, ratings=(5.0,), slots=6)
    return {"top": top, "mid": mid, "new": new}


async def test_every_public_route_answers_without_private_fields(
    client: Client, seeded: dict[str, uuid.UUID]
) -> None:
    top, mid, new = seeded["top"], seeded["mid"], seeded["new"]
    listed = await ok(client, "/api/mentors")
    assert listed["total"] == 3 and [m["name"] for m in listed["items"]] == [
        "Mid Mentor",
        "New Mentor",
        "Top Mentor",
    ]
    page = await ok(client, "/api/mentors/paginated?limit=9&sortBy=rating")
    assert [m["mentor_id"] for m in page["items"]] == [str(mid), str(top), str(new)]
    assert [m["avg_rating"] for m in page["items"]] == [5.0, 4.5, None]
    assert (page["page"], page["page_size"], page["total"]) == (1, 9, 3)
    slots = await ok(client, "/api/mentors/paginated?sortBy=slots&limit=1&page=2")
    assert [m["mentor_id"] for m in slots["items"]] == [str(top)]
    both = await ok(
        client, "/api/mentors/paginated?companies[]=acme&expertise[]=sql&expertise[]=excel"
    )
    assert {m["mentor_id"] for m in both["items"]} == {str(top), str(new)}
    named = await ok(client, "/api/mentors/paginated?search=mid&sortBy=alphabetical")
    assert [m["mentor_id"] for m in named["items"]] == [str(mid)]
    picks = await ok(client, "/api/mentors/category?category=Data&subCategory=Analytics")
    assert [m["mentor_id"] for m in picks["items"]] == [str(mid), str(top), str(new)]
    profile = await ok(client, f"/api/mentors/{top}/profile")
    assert (profile["completed_meets"], profile["avg_rating"], profile["slots_left"]) == (4, 4.5, 2)
    board = await ok(client, "/api/mentors/leaderboard?perPage=10")
    assert [(e["rank"], e["mentor_id"]) for e in board["items"]] == [(1, str(top)), (2, str(mid))]
    assert board["page_size"] == 10
    second = await ok(client, "/api/mentors/leaderboard?page=2&page_size=1&perPage=5")
    assert (second["page_size"], [e["rank"] for e in second["items"]]) == (1, [2])
    sized = await ok(client, "/api/mentors/paginated?page_size=2&limit=1")
    assert (sized["page_size"], len(sized["items"]), sized["total"]) == (2, 2, 3)
    limited = await ok(client, "/api/mentors/paginated?limit=1")
    assert (limited["page_size"], len(limited["items"])) == (1, 1)
    default = await ok(client, "/api/mentors/paginated")
    assert default["page_size"] == 9
    entry = await ok(client, f"/api/mentors/{mid}/leaderboard")
    assert (entry["rank"], entry["completed_meets"]) == (2, 1)
    unranked = await ok(client, f"/api/mentors/{new}/leaderboard")
    assert (unranked["rank"], unranked["completed_meets"], unranked["rating_count"]) == (None, 0, 0)
    assert unranked["avg_rating"] is None


@pytest.mark.parametrize(
    "path",
    [
        "/api/mentors/paginated?sortBy=price",
        "/api/mentors/paginated?limit=51",
        "/api/mentors/paginated?limit=0",
        "/api/mentors/paginated?page=0",
        "/api/mentors/leaderboard?perPage=11",
        "/api/mentors/leaderboard?page_size=11",
        "/api/mentors/paginated?page_size=51",
        "/api/mentors/paginated?limit=null",
        "/api/mentors/category?category=Data",
        "/api/mentors/category?subCategory=Analytics",
        "/api/mentors/category?category=&subCategory=x",
    ],
)
async def test_bad_queries_are_422(client: Client, path: str) -> None:
    answer = await client.get(path, headers=PUBLIC)
    assert answer.status_code == 422, answer.text


async def test_a_missing_or_hidden_mentor_is_404(
    client: Client, auth: Auth, seeded: dict[str, uuid.UUID]
) -> None:
    for path in ("profile", "leaderboard"):
        answer = await client.get(f"/api/mentors/{uuid.uuid4()}/{path}", headers=PUBLIC)
        assert answer.status_code == 404, answer.text
    top = seeded["top"]
    hide = await client.put(
        f"/api/admin/mentors/{top}/listing", json={"is_listed": False}, headers=auth()
    )
    assert hide.status_code == 200 and hide.json()["is_listed"] is False
    assert private_keys(hide.json()) == []
    for path in ("profile", "leaderboard"):
        assert (await client.get(f"/api/mentors/{top}/{path}", headers=PUBLIC)).status_code == 404
    page = await ok(client, "/api/mentors/paginated")
    assert str(top) not in {m["mentor_id"] for m in page["items"]}
    board = await ok(client, "/api/mentors/leaderboard")
    assert [e["mentor_id"] for e in board["items"]] == [str(seeded["mid"])]
    missing = await client.put(
        f"/api/admin/mentors/{uuid.uuid4()}/listing", json={"is_listed": True}, headers=auth()
    )
    assert missing.status_code == 404
    expert = await client.put(
        f"/api/admin/mentors/{top}/listing", json={"is_listed": True}, headers=auth(Role.EXPERT)
    )
    assert expert.status_code == 403


BODY = {
    "company": "Acme",
    "role": "Analyst",
    "category": "Data",
    "sub_category": "Analytics",
    "expertise": ["SQL"],
    "experience_years": 3,
    "image": "https://cdn.example.org/a.png",
}


async def test_an_expert_writes_and_reads_their_own_profile(
    client: Client, auth: Auth, accounts: dict[Role, User]
) -> None:
    headers = auth(Role.EXPERT)
    before = await client.get("/api/mentors/me/profile", headers=headers)
    assert (before.status_code, before.json()["code"]) == (404, "mentor_profile_missing")
    written = await client.put("/api/mentors/me/profile", json=BODY, headers=headers)
    assert written.status_code == 200, written.text
    assert private_keys(written.json()) == []
    assert written.json()["is_listed"] is True
    mine = await client.get("/api/mentors/me/profile", headers=headers)
    assert mine.json()["id"] == written.json()["id"]
    expert_id = accounts[Role.EXPERT].id
    card = await ok(client, f"/api/mentors/{expert_id}/profile")
    assert (card["company"], card["image"], card["completed_meets"]) == ("Acme", BODY["image"], 0)
    again = await client.put(
        "/api/mentors/me/profile", json={**BODY, "company": "Globex"}, headers=headers
    )
    assert again.json()["company"] == "Globex" and again.json()["id"] == written.json()["id"]


@pytest.mark.parametrize(
    "body",
    [
        {**BODY, "unknown": 1},
        {**BODY, "experience_years": -1},
        {**BODY, "image": "javascript:alert(1)"},
        {**BODY, "expertise": ["x"] * 21},
        {k: v for k, v in BODY.items() if k != "company"},
    ],
)
async def test_a_bad_profile_is_422(client: Client, auth: Auth, body: dict[str, Any]) -> None:
    answer = await client.put("/api/mentors/me/profile", json=body, headers=auth(Role.EXPERT))
    assert answer.status_code == 422, answer.text


async def test_who_may_write_a_profile(client: Client, auth: Auth) -> None:
    admin = await client.put("/api/mentors/me/profile", json=BODY, headers=auth(Role.ADMIN))
    assert (admin.status_code, admin.json()["code"]) == (403, "mentor_role_required")
    student = await client.put("/api/mentors/me/profile", json=BODY, headers=auth(Role.USER))
    assert (student.status_code, student.json()["code"]) == (403, "role_forbidden")
    anonymous = await client.put("/api/mentors/me/profile", json=BODY, headers=PUBLIC)
    assert anonymous.status_code == 401
