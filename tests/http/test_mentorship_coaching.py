"""Coaching, the status facade, the slot statistics and the booking's ``Idempotency-Key``
over HTTP (mentorship.md §5, §9 check 16)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from mas.core.identity.model import AuthMethod, User
from mas.core.identity.policy import Platform, Role
from mas.core.platform.ids import uuid7
from tests.http.conftest import add_user, http_client
from tests.http.test_mentorship_meetings import HALF, give, tomorrow_ten, window

Client = AsyncTestClient[Any]


class Site:
    def __init__(self, c: Any, client: Client) -> None:
        self.c = c
        self.client = client
        self.users: dict[str, User] = {}

    def headers(self, who: str) -> dict[str, str]:
        token = self.c.identity.issuer.access_token(
            self.users[who], Platform.MY_ANALYTICS_SCHOOL, AuthMethod.PASSWORD, None
        )
        return {"Authorization": f"Bearer {token}", "X-Platform": "my-analytics-school"}

    async def call(
        self, who: str, method: str, path: str, headers: dict[str, str] | None = None, **kw: Any
    ) -> Any:
        every = {**self.headers(who), **(headers or {})}
        return await self.client.request(method, path, headers=every, **kw)


@pytest.fixture
async def site(sqlite_container: Any) -> AsyncIterator[Site]:
    """SQLite, as every test of ``tests/http``: the same services run on PostgreSQL in
    ``tests/integration/test_mentorship_coaching.py`` and behind the fuzz gate."""
    c = sqlite_container
    async with http_client(c) as client:
        s = Site(c, client)
        for name, role in [
            ("admin", Role.ADMIN),
            ("student", Role.USER),
            ("other_student", Role.USER),
            ("mentor", Role.EXPERT),
            ("coach", Role.EXPERT),
        ]:
            s.users[name] = await add_user(c, role, f"{name}-{uuid.uuid4().hex}@example.com")
        async with c.uow() as uow:
            coach = await uow.users.get(s.users["coach"].id)
            coach.is_super_mentor = True
            await uow.users.save(coach)
            await uow.commit()
        s.users["coach"] = coach
        yield s


async def test_coaching_routes(site: Site) -> None:
    coach, student = site.users["coach"], site.users["student"]
    roster = f"/api/admin/super-mentors/{coach.id}/students"
    ten = tomorrow_ten()
    body = {"studentId": str(student.id), **window(ten), "agenda": "ONBOARDING"}
    refused = await site.call("coach", "POST", "/api/super-mentor/meetings", json=body)
    assert (refused.status_code, refused.json()["code"]) == (403, "student_not_assigned")
    assigned = await site.call("admin", "POST", roster, json={"studentId": str(student.id)})
    assert assigned.status_code == 201, assigned.text
    again = await site.call("admin", "POST", roster, json={"studentId": str(student.id)})
    assert (again.status_code, again.json()["code"]) == (409, "already_assigned")
    wrong = await site.call(
        "admin",
        "POST",
        f"/api/admin/super-mentors/{site.users['mentor'].id}/students",
        json={"studentId": str(student.id)},
    )
    assert (wrong.status_code, wrong.json()["code"]) == (422, "not_super_mentor")
    listed = await site.call("admin", "GET", roster)
    assert [a["student_id"] for a in listed.json()["items"]] == [str(student.id)]
    made = await site.call("coach", "POST", "/api/super-mentor/meetings", json=body)
    assert made.status_code == 201, made.text
    meeting = made.json()
    assert (meeting["status"], meeting["meeting_type"], meeting["agenda"]) == (
        "confirmed",
        "SUPER_MENTOR",
        "ONBOARDING",
    )
    clash = await site.call("coach", "POST", "/api/super-mentor/meetings", json=body)
    assert (clash.status_code, clash.json()["code"]) == (409, "mentor_busy")
    plain = await site.call("mentor", "POST", "/api/super-mentor/meetings", json=body)
    assert (plain.status_code, plain.json()["code"]) == (403, "not_super_mentor")
    by_student = await site.call("student", "POST", "/api/super-mentor/meetings", json=body)
    assert by_student.status_code == 403
    own = await site.call("coach", "GET", "/api/super-mentor/meetings")
    assert [m["id"] for m in own.json()["items"]] == [meeting["id"]]
    filtered = await site.call(
        "admin", "GET", "/api/super-mentor/meetings", params={"mentorId": str(coach.id)}
    )
    assert filtered.json()["total"] == 1
    status = f"/api/mentors/users/{student.id}/meetings/{meeting['id']}/status"
    ask = await site.call("student", "PUT", status, json={"status": "cancellation_requested"})
    assert (ask.status_code, ask.json()["code"]) == (409, "illegal_transition")
    coach_path = f"/api/mentors/users/{coach.id}/meetings/{meeting['id']}/status"
    cancelled = await site.call("coach", "PUT", coach_path, json={"status": "cancelled"})
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
    balance = await site.c.tokens.wallet.accounts.balance(student.id)
    assert balance.mentor.total == 0  # nothing was held, nothing refunded
    gone = await site.call("admin", "DELETE", f"{roster}/{student.id}")
    assert gone.status_code == 204
    twice = await site.call("admin", "DELETE", f"{roster}/{student.id}")
    assert (twice.status_code, twice.json()["code"]) == (404, "not_assigned")


async def test_status_facade_route(site: Site) -> None:
    mentor, student = site.users["mentor"], site.users["student"]
    ten = tomorrow_ten()
    await site.call("mentor", "POST", "/api/mentors/slots/available", json={"slots": [window(ten)]})
    await give(site.c, student, 1)
    booked = await site.call(
        "student", "POST", "/api/mentors/slots", json={"mentorId": str(mentor.id), **window(ten)}
    )
    slot = booked.json()["id"]
    mine = f"/api/mentors/users/{student.id}/meetings/{slot}/status"
    theirs = f"/api/mentors/users/{mentor.id}/meetings/{slot}/status"
    foreign = await site.call("student", "PUT", theirs, json={"status": "cancelled"})
    assert (foreign.status_code, foreign.json()["code"]) == (403, "not_your_meetings")
    unsupported = await site.call("mentor", "PUT", theirs, json={"status": "open"})
    assert (unsupported.status_code, unsupported.json()["code"]) == (422, "unsupported_status")
    bad = await site.call("mentor", "PUT", theirs, json={"status": "nonsense"})
    assert bad.status_code == 422
    withdrawn = await site.call("student", "PUT", mine, json={"status": "cancelled"})
    assert (withdrawn.status_code, withdrawn.json()["code"]) == (409, "illegal_transition")
    approved = await site.call("mentor", "PUT", theirs, json={"status": "confirmed"})
    assert (approved.status_code, approved.json()["status"]) == (200, "confirmed")
    asked = await site.call("student", "PUT", mine, json={"status": "cancellation_requested"})
    assert asked.json()["status"] == "cancellation_requested"
    by_admin = f"/api/mentors/users/{site.users['admin'].id}/meetings/{slot}/status"
    done = await site.call("admin", "PUT", by_admin, json={"status": "cancelled", "reason": "x"})
    assert (done.status_code, done.json()["status"]) == (200, "cancelled")
    balance = await site.c.tokens.wallet.accounts.balance(student.id)
    assert balance.mentor.total == 1


async def test_slot_stats_route(site: Site) -> None:
    ten = tomorrow_ten()
    await site.call(
        "mentor",
        "POST",
        "/api/mentors/slots/available",
        json={"slots": [window(ten), window(ten + HALF)]},
    )
    day = ten.astimezone(UTC).date().isoformat()
    found = await site.call(
        "admin", "GET", "/api/admin/slots/stats", params={"from": day, "to": day}
    )
    assert found.status_code == 200, found.text
    counts = found.json()["counts"]
    assert counts["total"] == 2
    assert counts["by_mentor"][0]["mentor_id"] == str(site.users["mentor"].id)
    assert counts["by_day"] == [{"day": day, "count": 2}]
    year = {"from": "2026-01-01", "to": "2027-01-03"}
    too_long = await site.call("admin", "GET", "/api/admin/slots/stats", params=year)
    assert (too_long.status_code, too_long.json()["code"]) == (422, "range_too_long")
    backwards = {"from": "2026-01-02", "to": "2026-01-01"}
    reversed_range = await site.call("admin", "GET", "/api/admin/slots/stats", params=backwards)
    assert (reversed_range.status_code, reversed_range.json()["code"]) == (422, "range_reversed")
    mentor = await site.call("mentor", "GET", "/api/admin/slots/stats", params=backwards)
    assert mentor.status_code == 403


async def test_idempotent_booking_route(site: Site) -> None:
    mentor, student = site.users["mentor"], site.users["student"]
    ten = tomorrow_ten()
    await site.call(
        "mentor",
        "POST",
        "/api/mentors/slots/available",
        json={"slots": [window(ten), window(ten + HALF)]},
    )
    await give(site.c, student, 2)
    ask = {"mentorId": str(mentor.id), **window(ten)}
    key = {"Idempotency-Key": f"book-{uuid7()}"}
    first = await site.call("student", "POST", "/api/mentors/slots", json=ask, headers=key)
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers
    again = await site.call("student", "POST", "/api/mentors/slots", json=ask, headers=key)
    assert again.status_code == 201, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    balance = await site.c.tokens.wallet.accounts.balance(student.id)
    assert balance.mentor.total == 1
    other = {"mentorId": str(mentor.id), **window(ten + HALF)}
    reused = await site.call("student", "POST", "/api/mentors/slots", json=other, headers=key)
    assert (reused.status_code, reused.json()["code"]) == (422, "idempotency_key_reused")
    spaced = {"Idempotency-Key": "has space"}
    refused = await site.call("student", "POST", "/api/mentors/slots", json=other, headers=spaced)
    assert refused.status_code == 422
    long_key = {"Idempotency-Key": "k" * 256}
    too_long = await site.call(
        "student", "POST", "/api/mentors/slots", json=other, headers=long_key
    )
    assert too_long.status_code == 422
