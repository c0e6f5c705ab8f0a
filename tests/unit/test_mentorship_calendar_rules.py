"""The calendar part's pure rules: the signed OAuth state, the reminders' windows, when an
access token counts as stale, and the reminder's wording."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import msgspec

from mas.core.mentorship.calendar import state
from mas.core.mentorship.calendar.mails import meeting_reminder
from mas.core.mentorship.calendar.model import Credential, ReminderKind, window

NOW = datetime(2026, 12, 10, 8, 0, tzinfo=UTC)
SECRET = b"k" * 32


def test_a_state_names_its_owner_until_it_expires() -> None:
    owner = uuid.uuid4()
    signed = state.sign(SECRET, owner, NOW + timedelta(minutes=10))
    assert state.verify(SECRET, signed, NOW) == (True, owner)
    assert state.verify(SECRET, signed, NOW + timedelta(minutes=10)) == (False, None)
    assert state.verify(b"x" * 32, signed, NOW) == (False, None)  # another installation
    platform = state.sign(SECRET, None, NOW + timedelta(minutes=10))
    assert platform.startswith("platform.")
    assert state.verify(SECRET, platform, NOW) == (True, None)
    assert state.sign(SECRET, owner, NOW) != state.sign(SECRET, owner, NOW)  # a nonce each


def test_a_state_that_was_altered_does_not_verify() -> None:
    signed = state.sign(SECRET, uuid.uuid4(), NOW + timedelta(minutes=10))
    owner, expiry, nonce, mac = signed.split(".")
    for bad in [
        f"{uuid.uuid4()}.{expiry}.{nonce}.{mac}",
        f"{owner}.{expiry}9.{nonce}.{mac}",
        f"{owner}.{expiry}.{nonce}x.{mac}",
        f"{owner}.{expiry}.{nonce}",
        f"{owner}.{expiry}.{nonce}.{mac}.extra",
        "",
    ]:
        assert state.verify(SECRET, bad, NOW) == (False, None)


def test_a_forged_body_with_its_own_mac_still_needs_a_user_id() -> None:
    body = f"someone.{int((NOW + timedelta(minutes=5)).timestamp())}.abcd"
    forged = f"{body}.{state._mac(SECRET, body)}"
    assert state.verify(SECRET, forged, NOW) == (False, None)


def test_the_reminder_windows_meet_without_overlap() -> None:
    day_after, day_until = window(ReminderKind.DAY_BEFORE, NOW)
    soon_after, soon_until = window(ReminderKind.SOON, NOW)
    assert (soon_after, soon_until) == (NOW, NOW + timedelta(minutes=15))
    assert (day_after, day_until) == (soon_until, NOW + timedelta(hours=24))


def test_an_access_token_is_stale_a_minute_early() -> None:
    credential = Credential(
        owner_user_id=None,
        access_token="ya29.x",
        refresh_token="1//x",
        expires_at=NOW + timedelta(minutes=2),
        scope="",
        connected_at=NOW,
    )
    assert not credential.stale(NOW)
    assert credential.stale(NOW + timedelta(minutes=1))
    assert msgspec.structs.replace(credential, access_token="").stale(NOW)


def test_the_reminder_says_when_and_with_whom() -> None:
    mail = meeting_reminder(
        {"kind": "15m", "start": "2026-12-11T10:00:00+00:00", "with_name": "A<b>"}
    )
    assert mail.subject == "Your meeting starts in a few minutes"
    assert "with A<b> starts at 2026-12-11T10:00:00+00:00" in mail.text
    assert mail.html is not None and "A&lt;b&gt;" in mail.html
    assert meeting_reminder({"kind": "24h", "start": "x", "with_name": "B"}).subject.endswith(
        "a day"
    )
