"""Slots and meetings over HTTP (mentorship.md §5; §9 checks 1-3, 5, 6, 8, 15)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlparse

from litestar.testing import AsyncTestClient
from sqlalchemy import select

from mas.adapters.db.platform.tables import OutboxMessageRow
from mas.core.identity.model import User
from mas.core.identity.policy import Role
from mas.core.tokens.wallet.purse import TokenKind, UsageType
from tests.http.conftest import Auth, add_user

Client = AsyncTestClient[Any]
HALF = timedelta(minutes=30)


def tomorrow_ten() -> datetime:
    day = datetime.now(UTC) + timedelta(days=1)
    return day.replace(hour=10, minute=0, second=0, microsecond=0)


def window(start: datetime, length: timedelta = HALF) -> dict[str, str]:
    return {"startDateTime": start.isoformat(), "endDateTime": (start + length).isoformat()}


async def give(c: Any, user: User, tokens: int) -> None:
    async with c.uow() as uow:
        await c.tokens.wallet.purse.credit(
            uow,
            user_id=user.id,
            kind=TokenKind.MENTOR,
            tokens=tokens,
            usage_type=UsageType.PURCHASE,
            key=f"purchase:{uuid.uuid4()}",
        )
        await uow.commit()


async def link(c: Any, slot_id: str, action: str) -> str:
    async with c.sessions() as session:
        row = (
            await session.execute(
                select(OutboxMessageRow).where(OutboxMessageRow.related_id == uuid.UUID(slot_id))
            )
        ).scalar_one()
    url = next(w for w in row.body_text.split() if f"action={action}" in w)
    parsed = urlparse(url)
    return f"{parsed.path}?{parsed.query}"


async def test_publish_list_and_remove(
    client: Client, auth: Auth, accounts: dict[Role, User], sqlite_container: Any
) -> None:
    mentor = accounts[Role.EXPERT]
    ten = tomorrow_ten()
    body = {"slots": [window(ten), window(ten + HALF)]}
    made = await client.post("/api/mentors/slots/available", json=body, headers=auth(Role.EXPERT))
    assert made.status_code == 201, made.text
    assert [s["status"] for s in made.json()] == ["open", "open"]
    bad = {"slots": [window(ten + 4 * HALF), window(ten + timedelta(minutes=15))]}
    refused = await client.post("/api/mentors/slots/available", json=bad, headers=auth(Role.EXPERT))
    assert (refused.status_code, refused.json()["code"]) == (422, "invalid_slots")
    assert [e["field"] for e in refused.json()["errors"]] == ["slots[1]"]
    long = {"slots": [window(ten + 6 * HALF, timedelta(minutes=45))]}
    longer = await client.post("/api/mentors/slots/available", json=long, headers=auth(Role.EXPERT))
    assert longer.status_code == 422
    student = await client.post("/api/mentors/slots/available", json=body, headers=auth(Role.USER))
    assert student.status_code == 403
    public = await client.get(f"/api/mentors/{mentor.id}/slots/available")
    assert public.status_code == 200 and public.json()["total"] == 2
    unknown = await client.get(f"/api/mentors/{uuid.uuid4()}/slots/available")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "mentor_not_found")
    own = await client.get(f"/api/mentors/{mentor.id}/slots", headers=auth(Role.EXPERT))
    assert own.status_code == 200 and own.json()["total"] == 2
    other = await add_user(sqlite_container, Role.EXPERT)
    foreign = await client.get(f"/api/mentors/{mentor.id}/slots", headers=auth(user=other))
    assert (foreign.status_code, foreign.json()["code"]) == (403, "not_your_slots")
    admin = await client.get(f"/api/mentors/{mentor.id}/slots", headers=auth(Role.ADMIN))
    assert admin.status_code == 200
    ids = [s["id"] for s in made.json()]
    removed = await client.request(
        "DELETE",
        "/api/mentors/slots/available",
        json={"slotIds": ids[:1]},
        headers=auth(Role.EXPERT),
    )
    assert removed.status_code == 200, removed.text
    assert removed.json() == {"removed": ids[:1], "booked": [], "missing": []}


async def test_book_decide_by_link_and_list(
    client: Client, auth: Auth, accounts: dict[Role, User], sqlite_container: Any
) -> None:
    mentor, student = accounts[Role.EXPERT], accounts[Role.USER]
    ten = tomorrow_ten()
    made = await client.post(
        "/api/mentors/slots/available",
        json={"slots": [window(ten), window(ten + HALF)]},
        headers=auth(Role.EXPERT),
    )
    first, second = (s["id"] for s in made.json())
    ask = {"mentorId": str(mentor.id), **window(ten), "note": "SQL joins"}
    broke = await client.post("/api/mentors/slots", json=ask, headers=auth(Role.USER))
    assert (broke.status_code, broke.json()["code"]) == (402, "insufficient_tokens")
    await give(sqlite_container, student, 2)
    booked = await client.post("/api/mentors/slots", json=ask, headers=auth(Role.USER))
    assert booked.status_code == 201, booked.text
    assert (booked.json()["id"], booked.json()["status"]) == (first, "tentative")
    again = await client.post("/api/mentors/slots", json=ask, headers=auth(Role.USER))
    assert (again.status_code, again.json()["code"]) == (409, "slot_taken")
    approve = await link(sqlite_container, first, "approve")
    # Opening the link (as a mail scanner does) decides nothing: the page's button does.
    for _ in range(2):
        page = await client.get(approve)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert "<form method='post'" in page.text and "Confirm the meeting" in page.text
    still = await client.get(f"/api/mentors/meetings/{first}/details", headers=auth(Role.USER))
    assert still.json()["meeting"]["status"] == "tentative"
    decided = await client.post(approve)
    assert decided.status_code == 200 and "text/html" in decided.headers["content-type"]
    assert "confirmed" in decided.text
    used = await client.post(approve)
    assert (used.status_code, used.json()["code"]) == (410, "link_used")
    reopened = await client.get(approve)
    assert (reopened.status_code, reopened.json()["code"]) == (410, "link_used")
    browser = await client.post(approve, headers={"Accept": "text/html,*/*;q=0.8"})
    assert browser.status_code == 410 and "text/html" in browser.headers["content-type"]
    assert "no longer valid" in browser.text
    forged = await client.post(f"/api/mentors/meetings/{first}/email-action?action=reject&token=x")
    assert forged.status_code == 410
    mine = await client.get(f"/api/mentors/users/{student.id}/meetings", headers=auth(Role.USER))
    assert mine.status_code == 200 and [m["status"] for m in mine.json()["items"]] == ["confirmed"]
    later = (ten + HALF).isoformat().replace("+00:00", "Z")
    after = await client.get(
        f"/api/mentors/users/{student.id}/meetings", params={"from": later}, headers=auth(Role.USER)
    )
    assert after.status_code == 200 and after.json()["total"] == 0, after.text
    other = await client.get(f"/api/mentors/users/{mentor.id}/meetings", headers=auth(Role.USER))
    assert (other.status_code, other.json()["code"]) == (403, "not_your_meetings")
    details = await client.get(f"/api/mentors/meetings/{first}/details", headers=auth(Role.USER))
    assert details.status_code == 200 and details.json()["mentor"]["id"] == str(mentor.id)
    hidden = await client.get(f"/api/mentors/meetings/{first}/details", headers=auth(Role.SALES))
    assert hidden.status_code == 403
    ask2 = {"mentorId": str(mentor.id), **window(ten + HALF)}
    assert (
        await client.post("/api/mentors/slots", json=ask2, headers=auth(Role.USER))
    ).status_code == 201
    rejected = await client.post(
        f"/api/mentors/meetings/{second}/reject", json={"reason": "busy"}, headers=auth(Role.EXPERT)
    )
    assert (rejected.status_code, rejected.json()["status"]) == (200, "rejected")
    twice = await client.post(f"/api/mentors/meetings/{second}/reject", headers=auth(Role.EXPERT))
    assert (twice.status_code, twice.json()["code"]) == (409, "illegal_transition")
    balance = await sqlite_container.tokens.wallet.accounts.balance(student.id)
    assert balance.mentor.total == 1


async def test_cancellation_routes(
    client: Client, auth: Auth, accounts: dict[Role, User], sqlite_container: Any
) -> None:
    mentor, student = accounts[Role.EXPERT], accounts[Role.USER]
    ten = tomorrow_ten()
    made = await client.post(
        "/api/mentors/slots/available", json={"slots": [window(ten)]}, headers=auth(Role.EXPERT)
    )
    slot = made.json()[0]["id"]
    await give(sqlite_container, student, 1)
    ask = {"mentorId": str(mentor.id), **window(ten)}
    assert (
        await client.post("/api/mentors/slots", json=ask, headers=auth(Role.USER))
    ).status_code == 201
    base = f"/api/mentors/meetings/{slot}"
    early = await client.post(f"{base}/request-cancellation", headers=auth(Role.USER))
    assert (early.status_code, early.json()["code"]) == (409, "illegal_transition")
    assert (await client.post(f"{base}/approve", headers=auth(Role.EXPERT))).status_code == 200
    asked = await client.post(
        f"{base}/request-cancellation", json={"reason": "ill"}, headers=auth(Role.USER)
    )
    assert (asked.status_code, asked.json()["status"]) == (200, "cancellation_requested")
    declined = await client.put(f"{base}/decline-cancellation", headers=auth(Role.EXPERT))
    assert declined.json()["status"] == "confirmed"
    await client.post(f"{base}/request-cancellation", headers=auth(Role.USER))
    done = await client.put(f"{base}/approve-cancellation", headers=auth(Role.EXPERT))
    assert (done.status_code, done.json()["status"]) == (200, "cancelled")
    twice = await client.put(f"{base}/approve-cancellation", headers=auth(Role.EXPERT))
    assert (twice.status_code, twice.json()["code"]) == (409, "illegal_transition")
    balance = await sqlite_container.tokens.wallet.accounts.balance(student.id)
    assert balance.mentor.total == 1
    cancel = await client.post(f"{base}/cancel", headers=auth(Role.ADMIN))
    assert cancel.status_code == 409
    missing = await client.post(f"/api/mentors/meetings/{uuid.uuid4()}/cancel", headers=auth())
    assert (missing.status_code, missing.json()["code"]) == (404, "meeting_not_found")


async def test_availability_request_progress_and_feedback_routes(
    client: Client, auth: Auth, accounts: dict[Role, User], sqlite_container: Any
) -> None:
    mentor, student = accounts[Role.EXPERT], accounts[Role.USER]
    day = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    asked = await client.post(
        f"/api/mentors/{mentor.id}/availability-requests",
        json={"preferredDate": day, "note": "weekend"},
        headers=auth(Role.USER),
    )
    assert (asked.status_code, asked.json()["status"]) == (201, "PENDING")
    ten = tomorrow_ten()
    made = await client.post(
        "/api/mentors/slots/available", json={"slots": [window(ten)]}, headers=auth(Role.EXPERT)
    )
    slot = made.json()[0]["id"]
    await give(sqlite_container, student, 1)
    ask = {"mentorId": str(mentor.id), **window(ten)}
    assert (
        await client.post("/api/mentors/slots", json=ask, headers=auth(Role.USER))
    ).status_code == 201
    await client.post(f"/api/mentors/meetings/{slot}/approve", headers=auth(Role.EXPERT))
    early = await client.post(f"/api/slots/{slot}/start", headers=auth(Role.USER))
    assert (early.status_code, early.json()["code"]) == (422, "too_early")
    unverified = await client.post(f"/api/slots/{slot}/complete", headers=auth(Role.EXPERT))
    assert (unverified.status_code, unverified.json()["code"]) == (409, "attendance_not_verified")
    feedback = {"rating": 4.5, "experience": "good", "isMentorJoinedOnTime": True}
    path = f"/api/mentors/users/{student.id}/meetings/{slot}/feedback"
    too_soon = await client.post(path, json=feedback, headers=auth(Role.USER))
    assert (too_soon.status_code, too_soon.json()["code"]) == (409, "meeting_not_completed")
    done = await client.post(
        f"/api/slots/{slot}/complete",
        json={"override": True, "reason": "room down"},
        headers=auth(Role.ADMIN),
    )
    assert (done.status_code, done.json()["status"]) == (200, "completed"), done.text
    assert done.json()["earnings_credited"] is True
    given = await client.post(path, json=feedback, headers=auth(Role.USER))
    assert given.status_code == 201, given.text
    again = await client.post(path, json=feedback, headers=auth(Role.USER))
    assert (again.status_code, again.json()["code"]) == (409, "feedback_exists")
    off_step = {**feedback, "rating": 4.2}
    bad = await client.post(path, json=off_step, headers=auth(Role.USER))
    assert bad.status_code == 422
    progress = await client.get(f"/api/slots/{slot}/details", headers=auth(Role.EXPERT))
    assert progress.status_code == 200 and progress.json()["status"] == "completed"
