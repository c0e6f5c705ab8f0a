"""The calendar part on SQLite and PostgreSQL against the fake Google (Calendar v3 and its
OAuth token endpoint, through ``httpx.ASGITransport``): connecting by OAuth with sealed
tokens, the refresh of a stale access token, the sync on confirm and cancel (mentorship.md §9
check 9), its idempotency and retries, and the reminders' windows, each sent once."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from sqlalchemy import func, select, update

from mas.adapters.db.comms.notifications_tables import NotificationRow
from mas.adapters.db.mentorship.calendar_tables import GoogleAuthTokenRow
from mas.adapters.db.mentorship.meetings_tables import SlotRow
from mas.adapters.db.platform.tables import JobRunRow, OutboxMessageRow
from mas.adapters.fakes.platform import FakeClock
from mas.core.identity.policy import Caller, Role
from mas.core.mentorship.calendar.sync import CalendarSync, event_key
from mas.core.mentorship.meetings.events import MeetingMoved
from mas.core.mentorship.meetings.model import SlotStatus
from mas.core.mentorship.ports.calendar import CalendarRejected, event_id_for
from mas.core.platform.errors import BadRequest
from mas.modules.mentorship import calendar as calendar_part
from tests.conftest import Database, make_settings, open_container
from tests.google_calendar_fake import CLIENT_ID, CLIENT_SECRET, FakeGoogleCalendar
from tests.integration.test_mentorship_meetings import TEN, ask, balance, give, person, publish

NOW = datetime(2026, 12, 10, 8, 0, tzinfo=UTC)
REDIRECT = "https://mas.example/api/mentors/me/calendar/callback"


@dataclass
class World:
    c: Any
    google: FakeGoogleCalendar
    clock: FakeClock


@pytest.fixture
async def world(database: Database, tmp_path: Path) -> AsyncIterator[World]:
    clock = FakeClock(NOW)
    c = await open_container(
        make_settings(
            database.url,
            tmp_path,
            public_base_url="https://mas.example",
            google_client_id=CLIENT_ID,
            google_client_secret=CLIENT_SECRET,
        ),
        database=database.joined,
        clock=clock,
    )
    google = FakeGoogleCalendar()
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=google))
    calendar_part.install(c, http)
    yield World(c, google, clock)
    await http.aclose()
    await c.close()


def accounts(w: World) -> Any:
    return w.c.mentorship.calendar.accounts


async def connect(w: World, owner: uuid.UUID | None) -> None:
    link = accounts(w).connect_link(owner)
    query = parse_qs(urlparse(link.url).query)
    code = w.google.authorize(query["redirect_uri"][0])
    await accounts(w).complete(code, query["state"][0])


async def booked(w: World, *, connected: bool = True) -> tuple[Caller, Caller, uuid.UUID]:
    mentor, student = await person(w.c, Role.EXPERT), await person(w.c, Role.USER)
    if connected:
        await connect(w, mentor.user_id)
    await publish(w.c, mentor, TEN)
    await give(w.c, student, 1)
    slot = await w.c.mentorship.meetings.bookings.book(student, ask(mentor))
    return mentor, student, slot.id


async def slot_row(c: Any, slot_id: uuid.UUID) -> SlotRow:
    async with c.sessions() as s:
        return (await s.execute(select(SlotRow).where(SlotRow.id == slot_id))).scalar_one()


async def email_of(c: Any, user: Caller) -> str:
    async with c.uow() as uow:
        found = await uow.slots.person(user.user_id)
    assert found is not None
    return str(found.email)


def creates(google: FakeGoogleCalendar) -> int:
    return sum(1 for method, path, _ in google.requests if method == "POST" and "/events" in path)


async def sync_runs(c: Any, status: str) -> int:
    async with c.sessions() as s:
        found = await s.scalar(
            select(func.count())
            .select_from(JobRunRow)
            .where(JobRunRow.task == "mentorship.calendar_sync", JobRunRow.status == status)
        )
    return int(found or 0)


async def test_connect_by_oauth_keeps_tokens_sealed(world: World) -> None:
    mentor = await person(world.c, Role.EXPERT)
    assert not (await accounts(world).status(mentor.user_id)).connected
    link = accounts(world).connect_link(mentor.user_id)
    query = parse_qs(urlparse(link.url).query)
    assert link.url.startswith("https://accounts.google.com/o/oauth2/v2/auth?")
    assert query["client_id"] == [CLIENT_ID]
    assert query["redirect_uri"] == [REDIRECT]
    assert query["access_type"] == ["offline"] and query["prompt"] == ["consent"]
    state = query["state"][0]

    code = world.google.authorize(REDIRECT)
    connection = await accounts(world).complete(code, state)
    assert connection.connected
    assert (await accounts(world).status(mentor.user_id)).connected
    assert not (await accounts(world).status(None)).connected  # the platform's is another row

    access = next(iter(world.google.access_tokens))
    refresh = world.google.access_tokens[access]
    async with world.c.sessions() as s:
        row = (await s.execute(select(GoogleAuthTokenRow))).scalar_one()
    assert row.owner_user_id == mentor.user_id
    assert access.encode() not in row.access_token and refresh.encode() not in row.refresh_token
    opened = await accounts(world).credential(mentor.user_id)
    assert opened is not None and (opened.access_token, opened.refresh_token) == (access, refresh)

    with pytest.raises(CalendarRejected):  # a code works once
        await accounts(world).complete(code, state)
    await accounts(world).disconnect(mentor.user_id)
    assert not (await accounts(world).status(mentor.user_id)).connected


async def test_a_tampered_foreign_or_stale_state_is_refused(world: World) -> None:
    mentor, other = await person(world.c, Role.EXPERT), await person(world.c, Role.EXPERT)
    state = parse_qs(urlparse(accounts(world).connect_link(mentor.user_id).url).query)["state"][0]
    owner, expiry, nonce, mac = state.split(".")
    forged = [
        f"{other.user_id}.{expiry}.{nonce}.{mac}",  # someone else's calendar
        f"platform.{expiry}.{nonce}.{mac}",
        f"{owner}.{int(expiry) + 3600}.{nonce}.{mac}",  # a longer life
        f"{owner}.{expiry}.{nonce}.{mac[:-1]}{'0' if mac[-1] != '0' else '1'}",
        "not-a-state",
    ]
    for bad in forged:
        code = world.google.authorize(REDIRECT)
        with pytest.raises(BadRequest) as refused:
            await accounts(world).complete(code, bad)
        assert refused.value.code == "bad_oauth_state"
    world.clock.advance(minutes=11)
    with pytest.raises(BadRequest):
        await accounts(world).complete(world.google.authorize(REDIRECT), state)
    async with world.c.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(GoogleAuthTokenRow)) == 0
    assert world.google.token_grants == 0  # no code was even traded


async def test_confirm_creates_the_event_and_a_mentor_cancel_deletes_it(world: World) -> None:
    mentor, student, slot_id = await booked(world)
    assert world.google.events() == {}  # a tentative booking is not on the calendar
    await world.c.mentorship.meetings.bookings.approve(mentor, slot_id)

    [event] = world.google.events().values()
    assert event["id"] == event_id_for(event_key(slot_id))
    assert event["attendees"] == [{"email": await email_of(world.c, student)}]
    assert event["start"]["dateTime"] == TEN.isoformat()
    assert (await slot_row(world.c, slot_id)).calendar_event_id == event["id"]

    # mentorship.md §9 check 9: the mentor cancels; the student is refunded, the event goes.
    await world.c.mentorship.meetings.bookings.cancel(mentor, slot_id, "ill")
    assert await balance(world.c, student) == 1
    assert event["status"] == "cancelled"
    assert (await slot_row(world.c, slot_id)).calendar_event_id is None
    assert await sync_runs(world.c, "failed") == await sync_runs(world.c, "dead") == 0


async def test_one_event_however_often_the_sync_runs(world: World) -> None:
    mentor, _student, slot_id = await booked(world)
    await world.c.mentorship.meetings.bookings.approve(mentor, slot_id)
    moved = await slot_row(world.c, slot_id)
    sync = world.c.mentorship.calendar.sync
    event = MeetingMoved(
        slot_id=slot_id,
        mentor_id=mentor.user_id,
        student_id=moved.student_id,
        previous="tentative",
        status="confirmed",
        version=moved.version,
        start=TEN,
        end=TEN + timedelta(minutes=30),
        meeting_type="MENTOR_CALL",
    )
    await sync.on_moved(event)  # the event delivered again (at least once)
    await sync.run(slot_id)
    assert creates(world.google) == 1
    # A create whose answer was lost (the id never stored): the retry finds the same event.
    async with world.c.sessions() as s:
        await s.execute(update(SlotRow).where(SlotRow.id == slot_id).values(calendar_event_id=None))
        await s.commit()
    await sync.run(slot_id)
    assert len(world.google.events()) == 1
    assert (await slot_row(world.c, slot_id)).calendar_event_id == event_id_for(event_key(slot_id))


async def test_a_failing_calendar_never_blocks_the_decision(world: World) -> None:
    mentor, _student, slot_id = await booked(world)
    for _ in range(3):
        world.google.fail_next(503)
    view = await world.c.mentorship.meetings.bookings.approve(mentor, slot_id)
    assert view.status is SlotStatus.CONFIRMED
    assert (await slot_row(world.c, slot_id)).status == "confirmed"
    assert world.google.events() == {}
    assert await sync_runs(world.c, "failed") == 1  # waiting for its next attempt

    world.clock.advance(minutes=2)  # the first retry (backoff 1 min ± 20 %)
    await world.c.jobs.release_due()
    assert world.google.events() == {}  # the second 503
    world.clock.advance(minutes=5)
    await world.c.jobs.release_due()  # the third attempt meets the third 503: dead
    assert await sync_runs(world.c, "dead") == 1
    # The 15-minute sweep picks the confirmed meeting without an event up again.
    assert await world.c.mentorship.calendar.sync.sweep() == 1
    assert len(world.google.events()) == 1
    assert (await slot_row(world.c, slot_id)).calendar_event_id is not None


async def test_a_stale_access_token_is_refreshed_and_stored(world: World) -> None:
    mentor, _student, slot_id = await booked(world)
    before = await accounts(world).credential(mentor.user_id)
    grants = world.google.token_grants
    world.clock.advance(hours=2)  # Google's hour has passed
    await world.c.mentorship.meetings.bookings.approve(mentor, slot_id)
    assert world.google.token_grants == grants + 1
    after = await accounts(world).credential(mentor.user_id)
    assert before is not None and after is not None
    assert after.access_token != before.access_token
    assert after.refresh_token == before.refresh_token
    assert after.expires_at > world.clock.now()
    assert len(world.google.events()) == 1


async def test_without_a_calendar_the_platform_account_or_nothing(world: World) -> None:
    mentor, student, slot_id = await booked(world, connected=False)
    await world.c.mentorship.meetings.bookings.approve(mentor, slot_id)
    assert world.google.events() == {}
    assert await sync_runs(world.c, "succeeded") == 1  # skipped, not failed
    assert await world.c.mentorship.calendar.sync.sweep() == 0  # nothing could carry it

    await connect(world, None)  # an ADMIN connects the platform's account
    assert await world.c.mentorship.calendar.sync.sweep() == 1
    [event] = world.google.events().values()
    emails = {a["email"] for a in event["attendees"]}
    assert emails == {await email_of(world.c, student), await email_of(world.c, mentor)}
    await world.c.mentorship.meetings.bookings.cancel(mentor, slot_id, None)
    assert event["status"] == "cancelled"


async def reminder_mails(c: Any, slot_id: uuid.UUID) -> list[tuple[str, str]]:
    async with c.sessions() as s:
        rows = await s.execute(
            select(OutboxMessageRow.recipient, OutboxMessageRow.subject).where(
                OutboxMessageRow.template == "mentorship.meeting_reminder",
                OutboxMessageRow.related_id == slot_id,
            )
        )
        return sorted((r.recipient, r.subject) for r in rows)


async def notifications(c: Any, user: Caller) -> int:
    async with c.sessions() as s:
        found = await s.scalar(
            select(func.count())
            .select_from(NotificationRow)
            .where(NotificationRow.user_id == user.user_id, NotificationRow.category == "MEETING")
        )
    return int(found or 0)


async def test_reminders_come_in_their_windows_once(world: World) -> None:
    mentor, student, slot_id = await booked(world, connected=False)
    await world.c.mentorship.meetings.bookings.approve(mentor, slot_id)
    reminders = world.c.mentorship.calendar.reminders
    people = {await email_of(world.c, mentor), await email_of(world.c, student)}

    assert await reminders.run() == 0  # 26 hours ahead: not yet
    world.clock.set(TEN - timedelta(hours=23, minutes=55))
    assert await reminders.run() == 1
    assert await reminders.run() == 0  # running twice sends once
    mails = await reminder_mails(world.c, slot_id)
    assert {to for to, _ in mails} == people and len(mails) == 2
    assert {subject for _, subject in mails} == {"Your meeting starts within a day"}
    assert await notifications(world.c, student) == await notifications(world.c, mentor) == 1

    world.clock.set(TEN - timedelta(minutes=20))
    assert await reminders.run() == 0  # between the two windows
    world.clock.set(TEN - timedelta(minutes=14))
    assert await reminders.run() == 1
    assert await reminders.run() == 0
    assert len(await reminder_mails(world.c, slot_id)) == 4
    assert await notifications(world.c, student) == 2
    row = await slot_row(world.c, slot_id)
    assert row.reminder_24h_sent_at is not None and row.reminder_15m_sent_at is not None
    world.clock.set(TEN + timedelta(minutes=1))
    assert await reminders.run() == 0  # started: nothing more


async def test_a_cancelled_meeting_gets_no_reminder(world: World) -> None:
    mentor, _student, slot_id = await booked(world, connected=False)
    await world.c.mentorship.meetings.bookings.approve(mentor, slot_id)
    await world.c.mentorship.meetings.bookings.cancel(mentor, slot_id, None)
    reminders = world.c.mentorship.calendar.reminders
    world.clock.set(TEN - timedelta(minutes=10))
    assert await reminders.run() == 0  # cancelled meetings get none
    assert await reminder_mails(world.c, slot_id) == []


async def test_a_failed_delete_is_swept_up(world: World) -> None:
    mentor, _student, slot_id = await booked(world)
    await world.c.mentorship.meetings.bookings.approve(mentor, slot_id)
    [event] = world.google.events().values()
    for _ in range(3):
        world.google.fail_next(500)
    await world.c.mentorship.meetings.bookings.cancel(mentor, slot_id, None)
    for minutes in (2, 5):
        world.clock.advance(minutes=minutes)
        await world.c.jobs.release_due()
    assert await sync_runs(world.c, "dead") == 1
    assert event["status"] == "confirmed"  # still on the calendar
    assert await world.c.mentorship.calendar.sync.sweep() == 1
    assert event["status"] == "cancelled"
    assert (await slot_row(world.c, slot_id)).calendar_event_id is None


async def test_a_revoked_grant_ends_the_sync_but_not_the_meeting(world: World) -> None:
    mentor, _student, slot_id = await booked(world)
    world.google.refresh_tokens.clear()  # the mentor revoked our access at Google
    world.clock.advance(hours=2)
    view = await world.c.mentorship.meetings.bookings.approve(mentor, slot_id)
    assert view.status is SlotStatus.CONFIRMED
    assert await sync_runs(world.c, "dead") == 1  # a refusal is not retried
    assert world.google.events() == {}


class CancelledMeanwhile:
    """A calendar whose create lets the mentor cancel the meeting while it is in flight."""

    def __init__(self, w: World, mentor: Caller, slot_id: uuid.UUID) -> None:
        self.inner = w.c.mentorship.calendar.calendar
        self.w, self.mentor, self.slot_id = w, mentor, slot_id

    async def create_event(self, *args: Any) -> str:
        await self.w.c.mentorship.meetings.bookings.cancel(self.mentor, self.slot_id, None)
        return str(await self.inner.create_event(*args))

    async def delete_event(self, *args: Any) -> None:
        await self.inner.delete_event(*args)


async def test_an_event_made_for_a_meeting_cancelled_meanwhile_is_taken_off(world: World) -> None:
    mentor, _student, slot_id = await booked(world)
    async with world.c.sessions() as s:  # confirmed without the move's event (no sync yet)
        await s.execute(update(SlotRow).where(SlotRow.id == slot_id).values(status="confirmed"))
        await s.commit()
    racing = CalendarSync(
        world.c.uow,
        world.c.clock,
        CancelledMeanwhile(world, mentor, slot_id),
        accounts(world),
        world.c.jobs,
    )
    await racing.run(slot_id)
    [event] = world.google.events().values()
    assert event["status"] == "cancelled"
    assert (await slot_row(world.c, slot_id)).calendar_event_id is None
