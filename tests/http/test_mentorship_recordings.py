"""Meeting recordings over HTTP, on SQLite and PostgreSQL (mentorship.md §5): a whole upload
through the local-folder storage's own presigned routes, and who may call each route."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

from mas.core.identity.model import AuthMethod, User
from mas.core.identity.policy import Platform, Role
from mas.core.mentorship.meetings.model import Slot, SlotStatus
from mas.core.mentorship.room import bot_tickets
from mas.core.platform.ids import uuid7
from tests.http.conftest import add_user, app_for

Client = httpx.AsyncClient
PLATFORM = Platform.MY_ANALYTICS_SCHOOL


@dataclass
class Cast:
    """The callers of one confirmed meeting, and the ones outside it."""

    c: Any
    meeting: Slot
    mentor: User
    student: User
    admin: User
    outsider: User
    other_expert: User

    def auth(self, user: User | None) -> dict[str, str]:
        if user is None:
            return {"X-Platform": PLATFORM.value}
        token = self.c.identity.issuer.access_token(user, PLATFORM, AuthMethod.PASSWORD, None)
        return {"Authorization": f"Bearer {token}", "X-Platform": PLATFORM.value}


async def add_meeting(
    c: Any, mentor: User, student: User, status: SlotStatus, hours_ahead: int = 1
) -> Slot:
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(hours=hours_ahead)
    slot = Slot(
        id=uuid7(),
        mentor_id=mentor.id,
        student_id=student.id,
        start_date_time=start,
        end_date_time=start + timedelta(minutes=30),
        status=status,
        is_available=False,
        created_at=start,
        updated_at=start,
        room_id=f"room-{uuid7().hex}",
    )
    async with c.uow() as uow:
        await uow.slots.add_many([slot])
        await uow.commit()
    return slot


@pytest.fixture
async def cast(container: Any) -> Cast:
    mentor, student = await add_user(container, Role.EXPERT), await add_user(container, Role.USER)
    return Cast(
        c=container,
        meeting=await add_meeting(container, mentor, student, SlotStatus.CONFIRMED),
        mentor=mentor,
        student=student,
        admin=await add_user(container, Role.ADMIN),
        outsider=await add_user(container, Role.USER),
        other_expert=await add_user(container, Role.EXPERT),
    )


@pytest.fixture
async def client(container: Any) -> AsyncIterator[Client]:
    """The app on this test's loop (httpx over ASGI, no lifespan: the container is the test's),
    so on PostgreSQL the requests join the test's rolled-back transaction."""
    async with app_for(container) as app:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver"
        ) as test_client:
            yield test_client


def local(url: str) -> str:
    """A presigned URL of the local folder, as a path the test client sends to the app."""
    parsed = urlparse(url)
    return f"{parsed.path}?{parsed.query}"


async def test_a_whole_upload_through_the_local_storage(client: Client, cast: Cast) -> None:
    base = f"/api/meetings/{cast.meeting.id}/recordings"
    started = await client.post(
        base, json={"mime_type": "video/webm"}, headers=cast.auth(cast.mentor)
    )
    assert started.status_code == 201, started.text
    recording = started.json()["recording"]
    assert recording["status"] == "UPLOADING"
    assert recording["storage_key"] == f"recordings/{cast.meeting.id}/{recording['id']}.webm"
    key = bot_tickets.key_of(cast.c.settings.effective_jwt_secret)
    ticket = started.json()["bot_ticket"]
    assert bot_tickets.verify(key, ticket, cast.meeting.id, cast.meeting.end_date_time)
    chunks = [b"\x1aE\xdf\xa3 webm header ", b"and the rest of the media"]
    parts = []
    for number, chunk in enumerate(chunks, 1):
        url = await client.get(
            f"{base}/{recording['id']}/parts/{number}/url", headers=cast.auth(cast.student)
        )
        assert url.status_code == 200, url.text
        put = await client.put(local(url.json()["url"]), content=chunk)
        assert put.status_code == 200, put.text
        parts.append({"part_number": number, "etag": put.headers["ETag"]})
    body = {"parts": parts, "size_bytes": sum(map(len, chunks)), "duration_seconds": 61}
    done = await client.post(
        f"{base}/{recording['id']}/complete", json=body, headers=cast.auth(cast.mentor)
    )
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["size_bytes"], done.json()["duration_seconds"]) == (
        "AVAILABLE",
        len(b"".join(chunks)),
        61,
    )
    again = await client.post(
        f"{base}/{recording['id']}/complete", json=body, headers=cast.auth(cast.mentor)
    )
    assert (again.status_code, again.json()["code"]) == (409, "illegal_transition")
    link = await client.get(
        f"/api/recordings/{recording['id']}/url", headers=cast.auth(cast.student)
    )
    assert link.status_code == 200, link.text
    fetched = await client.get(local(link.json()["url"]))
    assert fetched.status_code == 200 and fetched.content == b"".join(chunks)
    assert fetched.headers["content-type"].startswith("video/webm")
    listed = await client.get(
        "/api/admin/recordings",
        params={"slot_id": str(cast.meeting.id), "status": "AVAILABLE"},
        headers=cast.auth(cast.admin),
    )
    assert listed.status_code == 200 and [r["id"] for r in listed.json()["items"]] == [
        recording["id"]
    ]
    gone = await client.delete(
        f"/api/admin/recordings/{recording['id']}", headers=cast.auth(cast.admin)
    )
    assert gone.status_code == 200 and gone.json()["status"] == "DELETED"
    twice = await client.delete(
        f"/api/admin/recordings/{recording['id']}", headers=cast.auth(cast.admin)
    )
    assert (twice.status_code, twice.json()["code"]) == (409, "illegal_transition")
    after = await client.get(
        f"/api/recordings/{recording['id']}/url", headers=cast.auth(cast.student)
    )
    assert (after.status_code, after.json()["code"]) == (404, "recording_not_found")


async def test_a_bad_etag_and_an_abort(client: Client, cast: Cast) -> None:
    base = f"/api/meetings/{cast.meeting.id}/recordings"
    started = await client.post(base, headers=cast.auth(cast.student))
    assert started.status_code == 201, started.text
    rid = started.json()["recording"]["id"]
    url = await client.get(f"{base}/{rid}/parts/1/url", headers=cast.auth(cast.student))
    await client.put(local(url.json()["url"]), content=b"data")
    wrong = {"parts": [{"part_number": 1, "etag": '"0123"'}]}
    bad = await client.post(f"{base}/{rid}/complete", json=wrong, headers=cast.auth(cast.student))
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_part")
    unordered = {"parts": [{"part_number": 2, "etag": "a"}, {"part_number": 1, "etag": "b"}]}
    order = await client.post(
        f"{base}/{rid}/complete", json=unordered, headers=cast.auth(cast.student)
    )
    assert (order.status_code, order.json()["code"]) == (422, "invalid_part_order")
    early = await client.get(f"/api/recordings/{rid}/url", headers=cast.auth(cast.student))
    assert (early.status_code, early.json()["code"]) == (409, "recording_not_available")
    aborted = await client.post(f"{base}/{rid}/abort", headers=cast.auth(cast.mentor))
    assert aborted.status_code == 200 and aborted.json()["status"] == "FAILED"
    part = await client.get(f"{base}/{rid}/parts/2/url", headers=cast.auth(cast.student))
    assert (part.status_code, part.json()["code"]) == (409, "recording_not_uploading")
    # The aborted upload's part URL no longer takes parts.
    late = await client.put(local(url.json()["url"]), content=b"more")
    assert late.status_code == 404


async def test_who_may_call_each_route(client: Client, cast: Cast) -> None:
    base = f"/api/meetings/{cast.meeting.id}/recordings"
    started = await client.post(base, headers=cast.auth(cast.admin))
    assert started.status_code == 201, started.text
    rid = started.json()["recording"]["id"]
    body = {"parts": [{"part_number": 1, "etag": "x"}]}
    meeting_routes = [
        ("POST", base, None),
        ("GET", f"{base}/{rid}/parts/1/url", None),
        ("POST", f"{base}/{rid}/complete", body),
        ("POST", f"{base}/{rid}/abort", None),
        ("GET", f"/api/recordings/{rid}/url", None),
    ]
    admin_routes = [
        ("GET", "/api/admin/recordings", None),
        ("DELETE", f"/api/admin/recordings/{rid}", None),
    ]
    for method, path, json in meeting_routes + admin_routes:
        anonymous = await client.request(method, path, json=json, headers=cast.auth(None))
        assert anonymous.status_code == 401, (method, path)
    for method, path, json in meeting_routes:
        for stranger in (cast.outsider, cast.other_expert):
            refused = await client.request(method, path, json=json, headers=cast.auth(stranger))
            assert (refused.status_code, refused.json()["code"]) == (403, "not_participant"), (
                method,
                path,
            )
    for method, path, json in admin_routes:
        for role_holder in (cast.mentor, cast.student):
            refused = await client.request(method, path, json=json, headers=cast.auth(role_holder))
            assert refused.status_code == 403, (method, path)
    nowhere = f"/api/meetings/{uuid.uuid4()}/recordings"
    missing = await client.post(nowhere, headers=cast.auth(cast.admin))
    assert (missing.status_code, missing.json()["code"]) == (404, "meeting_not_found")
    other = await add_meeting(cast.c, cast.mentor, cast.student, SlotStatus.CONFIRMED, 2)
    foreign = await client.get(
        f"/api/meetings/{other.id}/recordings/{rid}/parts/1/url", headers=cast.auth(cast.mentor)
    )
    assert (foreign.status_code, foreign.json()["code"]) == (404, "recording_not_found")
    unknown = await client.get(f"/api/recordings/{uuid.uuid4()}/url", headers=cast.auth(cast.admin))
    assert (unknown.status_code, unknown.json()["code"]) == (404, "recording_not_found")
    tentative = await add_meeting(cast.c, cast.mentor, cast.student, SlotStatus.TENTATIVE, 3)
    early = await client.post(
        f"/api/meetings/{tentative.id}/recordings", headers=cast.auth(cast.mentor)
    )
    assert (early.status_code, early.json()["code"]) == (409, "meeting_not_confirmed")
    too_far = await client.get(f"{base}/{rid}/parts/10001/url", headers=cast.auth(cast.mentor))
    assert too_far.status_code == 422
    odd = await client.post(base, json={"mime_type": "text/html"}, headers=cast.auth(cast.mentor))
    assert (odd.status_code, odd.json()["errors"][0]["field"]) == (422, "mime_type")
    listed = await client.get("/api/admin/recordings", headers=cast.auth(cast.admin))
    assert listed.status_code == 200 and listed.json()["total"] == 1
