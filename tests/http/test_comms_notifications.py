"""In-app notifications over HTTP: one's own feed, the unread count (check 5), preferences and an
admin's broadcasts (check 4's counters, cancel 409, the audiences the LMS will bring)."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import update

from mas.adapters.db.identity.tables import UserRow
from mas.core.identity.model import User
from mas.core.identity.policy import Role
from tests.http.conftest import Auth, add_user

Client = AsyncTestClient[Any]


async def notify(c: Any, user: User, title: str) -> str:
    async with c.uow() as uow:
        result = await c.messenger.notify(uow, user.id, "ACADEMIC", title, "body", link="/x")
        await uow.commit()
    return str(result.notification_id)


async def unread(client: Client, headers: dict[str, str]) -> int:
    answer = await client.get("/api/notifications/unread-count", headers=headers)
    assert answer.status_code == 200, answer.text
    count: int = answer.json()["count"]
    return count


async def test_unread_count_drops_after_a_read_and_anothers_is_404(
    client: Client, auth: Auth, accounts: dict[Role, User], sqlite_container: Any
) -> None:
    """Check 5."""
    student = accounts[Role.USER]
    other = await add_user(sqlite_container, Role.USER)
    mine = [await notify(sqlite_container, student, f"n{i}") for i in range(2)]
    theirs = await notify(sqlite_container, other, "theirs")
    headers = auth(Role.USER)
    assert await unread(client, headers) == 2
    read = await client.post(f"/api/notifications/{mine[0]}/read", headers=headers)
    assert read.status_code == 200, read.text
    assert read.json()["is_read"] is True
    assert await unread(client, headers) == 1
    foreign = await client.post(f"/api/notifications/{theirs}/read", headers=headers)
    assert foreign.status_code == 404 and foreign.json()["code"] == "not_found"
    assert await unread(client, auth(user=other)) == 1
    everything = await client.post("/api/notifications/read-all", headers=headers)
    assert everything.json() == {"updated": 1}
    assert await unread(client, headers) == 0


async def test_the_feed_pages_with_a_cursor(
    client: Client, auth: Auth, accounts: dict[Role, User], sqlite_container: Any
) -> None:
    admin = accounts[Role.ADMIN]
    made = [await notify(sqlite_container, admin, f"n{i}") for i in range(3)]
    headers = auth(Role.ADMIN)
    first = (await client.get("/api/notifications", params={"limit": 2}, headers=headers)).json()
    assert [n["id"] for n in first["items"]] == [made[2], made[1]]
    rest = await client.get(
        "/api/notifications", params={"limit": 2, "cursor": first["next_cursor"]}, headers=headers
    )
    assert [n["id"] for n in rest.json()["items"]] == [made[0]]
    assert rest.json()["next_cursor"] is None
    await client.post(f"/api/notifications/{made[2]}/read", headers=headers)
    unread_only = await client.get("/api/notifications", params={"unread": "true"}, headers=headers)
    assert [n["id"] for n in unread_only.json()["items"]] == [made[1], made[0]]
    bad = await client.get("/api/notifications", params={"cursor": "nope"}, headers=headers)
    assert bad.status_code == 422


async def test_preferences_lock_system_and_payment_email(client: Client, auth: Auth) -> None:
    headers = auth(Role.USER)
    grid = (await client.get("/api/notifications/preferences", headers=headers)).json()["items"]
    assert len(grid) == 18 and all(p["enabled"] for p in grid)
    locked = await client.put(
        "/api/notifications/preferences",
        json={"items": [{"channel": "EMAIL", "category": "SYSTEM", "enabled": False}]},
        headers=headers,
    )
    assert locked.status_code == 422 and locked.json()["code"] == "category_locked"
    changed = await client.put(
        "/api/notifications/preferences",
        json={"items": [{"channel": "IN_APP", "category": "ENGAGEMENT", "enabled": False}]},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    off = [(p["channel"], p["category"]) for p in changed.json()["items"] if not p["enabled"]]
    assert off == [("IN_APP", "ENGAGEMENT")]
    staff = await client.get("/api/notifications/preferences", headers=auth(Role.EXPERT))
    assert staff.status_code == 403


async def test_a_broadcast_from_draft_to_sent_with_its_counters(
    client: Client, auth: Auth, accounts: dict[Role, User], sqlite_container: Any
) -> None:
    """Check 4: a student at the cap gets nothing from the broadcast, which counts it."""
    headers = auth(Role.ADMIN)
    capped = accounts[Role.USER]
    fresh = await add_user(sqlite_container, Role.USER)
    for i in range(3):
        await notify(sqlite_container, capped, f"n{i}")
    body = {"audience": "ALL_STUDENTS", "title": "Holiday", "body": "Friday off", "link": "/cal"}
    draft = await client.post("/api/admin/notifications/broadcasts", json=body, headers=headers)
    assert draft.status_code == 201, draft.text
    assert draft.json()["status"] == "DRAFT"
    broadcast_id = draft.json()["id"]
    sent = await client.post(
        f"/api/admin/notifications/broadcasts/{broadcast_id}/send", headers=headers
    )
    assert sent.status_code == 200, sent.text
    listed = (await client.get("/api/admin/notifications/broadcasts", headers=headers)).json()
    assert listed["total"] == 1
    shown = listed["items"][0]
    assert shown["status"] == "SENT"
    assert (shown["recipients"], shown["delivered"], shown["capped"]) == (2, 1, 1)
    assert await unread(client, auth(user=fresh)) == 1
    assert await unread(client, auth(Role.USER)) == 3
    late = await client.post(
        f"/api/admin/notifications/broadcasts/{broadcast_id}/cancel", headers=headers
    )
    assert late.status_code == 409 and late.json()["code"] == "broadcast_not_cancellable"
    resend = await client.post(
        f"/api/admin/notifications/broadcasts/{broadcast_id}/send", headers=headers
    )
    assert resend.status_code == 409 and resend.json()["code"] == "broadcast_not_draft"


async def test_broadcast_audiences_the_lms_owns_and_empty_ones_are_refused(
    client: Client, auth: Auth
) -> None:
    headers = auth(Role.ADMIN)
    base = {"title": "t", "body": "b"}
    for body, code in (
        ({"audience": "BATCH", "audience_ref": "b-1"}, "audience_unavailable"),
        ({"audience": "COURSE", "audience_ref": "c-1"}, "audience_unavailable"),
        ({"audience": "ROLE", "audience_ref": "NOBODY"}, "audience_ref_invalid"),
        ({"audience": "ROLE"}, "audience_ref_invalid"),
        ({"audience": "ROLE", "audience_ref": "SUPERADMIN", "send_now": True}, None),
    ):
        answer = await client.post(
            "/api/admin/notifications/broadcasts", json={**base, **body}, headers=headers
        )
        if code is None:
            assert answer.status_code == 201, answer.text
        else:
            assert answer.status_code == 422, answer.text
            assert answer.json()["code"] == code


async def test_an_audience_of_blocked_users_only_is_empty(
    client: Client, auth: Auth, accounts: dict[Role, User], sqlite_container: Any
) -> None:
    async with sqlite_container.sessions() as session:
        await session.execute(
            update(UserRow).where(UserRow.id == accounts[Role.FINANCE].id).values(is_blocked=True)
        )
        await session.commit()
    answer = await client.post(
        "/api/admin/notifications/broadcasts",
        json={"audience": "ROLE", "audience_ref": "FINANCE", "title": "t", "body": "b"},
        headers=auth(Role.ADMIN),
    )
    assert answer.status_code == 422 and answer.json()["code"] == "empty_audience"
    unknown = await client.post(
        "/api/admin/notifications/broadcasts",
        json={"audience": "ALL_STUDENTS", "title": "t", "body": "b", "unknown": 1},
        headers=auth(Role.ADMIN),
    )
    assert unknown.status_code == 422
