"""GoogleCalendar against a fake server speaking Calendar v3 and Google's token endpoint, and
the FakeCalendar the domain's tests use."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest

from mas.adapters.fakes.calendar import FakeCalendar
from mas.adapters.mentorship.google_calendar import GoogleCalendar
from mas.core.mentorship.ports.calendar import (
    CalendarOwner,
    CalendarRejected,
    CalendarUnavailable,
    event_id_for,
)
from mas.core.platform.errors import NotConfigured, Transient, ValidationFailed
from tests.google_calendar_fake import CLIENT_ID, CLIENT_SECRET, FakeGoogleCalendar

IST = timezone(timedelta(hours=5, minutes=30))
START = datetime(2026, 12, 10, 18, 0, tzinfo=IST)
END = START + timedelta(minutes=45)
MENTOR = CalendarOwner(refresh_token="refresh-mentor-1")


@pytest.fixture
def google() -> FakeGoogleCalendar:
    return FakeGoogleCalendar()


@pytest.fixture
async def calendar(google: FakeGoogleCalendar) -> AsyncIterator[GoogleCalendar]:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=google))
    adapter = GoogleCalendar(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        http=http,
        api_base="https://www.googleapis.com",
        token_url="https://oauth2.googleapis.com/token",
    )
    yield adapter
    await http.aclose()


async def _create(calendar: GoogleCalendar, key: str = "slot-1:confirm") -> str:
    return await calendar.create_event(
        MENTOR, "Mentorship: Asha / Ravi", START, END, ["asha@example.com"], key
    )


def test_event_ids_are_base32hex_and_stable() -> None:
    first = event_id_for("slot-1:confirm")
    assert first == event_id_for("slot-1:confirm") != event_id_for("slot-2:confirm")
    assert len(first) == 52
    assert set(first) <= set("0123456789abcdefghijklmnopqrstuv")


async def test_create_sends_the_event_and_answers_its_id(
    calendar: GoogleCalendar, google: FakeGoogleCalendar
) -> None:
    event_id = await _create(calendar)
    assert event_id == event_id_for("slot-1:confirm")
    event = google.events()[event_id]
    assert event["summary"] == "Mentorship: Asha / Ravi"
    assert event["start"] == {"dateTime": "2026-12-10T18:00:00+05:30"}
    assert event["end"] == {"dateTime": "2026-12-10T18:45:00+05:30"}
    assert event["attendees"] == [{"email": "asha@example.com"}]
    method, path, query = google.requests[-1]
    assert (method, path) == ("POST", "/calendar/v3/calendars/primary/events")
    assert query["sendUpdates"] == ["all"]


async def test_creating_again_with_the_same_key_answers_the_same_event(
    calendar: GoogleCalendar, google: FakeGoogleCalendar
) -> None:
    first = await _create(calendar)
    second = await _create(calendar)
    assert first == second
    assert len(google.events()) == 1
    assert google.token_grants == 1  # the access token was reused
    calls = [(method, path) for method, path, _ in google.requests if path != "/token"]
    event_url = f"/calendar/v3/calendars/primary/events/{first}"
    assert calls == [
        ("POST", "/calendar/v3/calendars/primary/events"),
        ("POST", "/calendar/v3/calendars/primary/events"),
        ("GET", event_url),
    ]


async def test_delete_cancels_and_deleting_again_succeeds(
    calendar: GoogleCalendar, google: FakeGoogleCalendar
) -> None:
    event_id = await _create(calendar)
    await calendar.delete_event(MENTOR, event_id)
    assert google.events()[event_id]["status"] == "cancelled"
    await calendar.delete_event(MENTOR, event_id)  # 410 deleted
    await calendar.delete_event(MENTOR, "unknownevent1")  # 404
    assert google.requests[-1][2]["sendUpdates"] == ["all"]


async def test_creating_after_a_delete_restores_the_event(
    calendar: GoogleCalendar, google: FakeGoogleCalendar
) -> None:
    event_id = await _create(calendar)
    await calendar.delete_event(MENTOR, event_id)
    assert await _create(calendar) == event_id
    assert google.events()[event_id]["status"] == "confirmed"


async def test_another_calendar_id_is_addressed(
    calendar: GoogleCalendar, google: FakeGoogleCalendar
) -> None:
    owner = CalendarOwner(refresh_token="refresh-mentor-1", calendar_id="team@group.v.calendar")
    event_id = await calendar.create_event(owner, "t", START, END, [], "k")
    assert event_id in google.events("team@group.v.calendar")
    assert google.requests[-1][1] == "/calendar/v3/calendars/team%40group.v.calendar/events"


async def test_a_stale_access_token_is_refreshed_once(
    calendar: GoogleCalendar, google: FakeGoogleCalendar
) -> None:
    await _create(calendar, "a")
    google.expire_tokens()
    await _create(calendar, "b")
    assert google.token_grants == 2
    assert len(google.events()) == 2


async def test_a_known_access_token_saves_the_refresh(
    calendar: GoogleCalendar, google: FakeGoogleCalendar
) -> None:
    google.access_tokens["ya29.given"] = "refresh-mentor-1"
    owner = CalendarOwner(
        refresh_token="refresh-mentor-1",
        access_token="ya29.given",
        access_expires_at=datetime.now(UTC) + timedelta(minutes=30),
    )
    await calendar.create_event(owner, "t", START, END, [], "k")
    assert google.token_grants == 0


async def test_a_revoked_grant_is_rejected(calendar: GoogleCalendar) -> None:
    owner = CalendarOwner(refresh_token="revoked")
    with pytest.raises(CalendarRejected, match="invalid_grant") as caught:
        await calendar.create_event(owner, "t", START, END, [], "k")
    assert not isinstance(caught.value, Transient)


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_busy_or_failing_google_is_unavailable(
    calendar: GoogleCalendar, google: FakeGoogleCalendar, status: int
) -> None:
    google.fail_next(status)
    with pytest.raises(CalendarUnavailable, match=str(status)) as caught:
        await _create(calendar)
    assert isinstance(caught.value, Transient)
    assert await _create(calendar) == event_id_for("slot-1:confirm")  # the retry works


async def test_rate_limit_403_is_unavailable_other_403_rejected(
    calendar: GoogleCalendar, google: FakeGoogleCalendar
) -> None:
    google.fail_next(403, "userRateLimitExceeded")
    with pytest.raises(CalendarUnavailable):
        await _create(calendar)
    google.fail_next(403, "forbiddenForNonOrganizer")
    with pytest.raises(CalendarRejected, match="forbiddenForNonOrganizer"):
        await calendar.delete_event(MENTOR, "abcdef")


async def test_google_refusals_are_rejected_with_their_reason(
    calendar: GoogleCalendar,
) -> None:
    with pytest.raises(CalendarRejected, match="Invalid attendee email"):
        await calendar.create_event(MENTOR, "t", START, END, ["not-an-email"], "k2")


async def test_bad_times_are_refused_before_any_call(
    calendar: GoogleCalendar, google: FakeGoogleCalendar
) -> None:
    with pytest.raises(ValidationFailed):
        await calendar.create_event(MENTOR, "t", END, START, [], "k")
    with pytest.raises(ValidationFailed):
        await calendar.create_event(MENTOR, "t", START.replace(tzinfo=None), END, [], "k")
    assert google.requests == []


async def test_an_unreachable_google_is_unavailable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        adapter = GoogleCalendar(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, http=http)
        with pytest.raises(CalendarUnavailable, match="unreachable"):
            await adapter.delete_event(MENTOR, "abcdef")


async def test_without_client_credentials_it_is_not_configured() -> None:
    adapter = GoogleCalendar(client_id="", client_secret="")
    with pytest.raises(NotConfigured):
        await adapter.create_event(MENTOR, "t", START, END, [], "k")
    await adapter.aclose()


# --- the fake ---------------------------------------------------------------------------------


async def test_fake_calendar_is_idempotent_and_fails_on_demand() -> None:
    fake = FakeCalendar()
    first = await fake.create_event(MENTOR, "t", START, END, ["a@x.in"], "k1")
    assert first == "evt_1"
    assert await fake.create_event(MENTOR, "t", START, END, ["a@x.in"], "k1") == "evt_1"
    assert await fake.create_event(MENTOR, "t", START, END, [], "k2") == "evt_2"
    fake.fail_next(2)
    for _ in range(2):
        with pytest.raises(CalendarUnavailable):
            await fake.delete_event(MENTOR, "evt_1")
    await fake.delete_event(MENTOR, "evt_1")
    await fake.delete_event(MENTOR, "evt_1")
    assert fake.deleted == ["evt_1"] and "evt_1" not in fake.events
    assert await fake.create_event(MENTOR, "t", START, END, [], "k1") == "evt_1"
    fake.fail_next(retryable=False)
    with pytest.raises(CalendarRejected):
        await fake.create_event(MENTOR, "t", START, END, [], "k3")
