import uuid
from datetime import UTC, datetime, timedelta

from mas.core.mentorship.room import bot_tickets

KEY = bot_tickets.key_of("installation-secret")
END = datetime(2026, 12, 5, 10, 30, tzinfo=UTC)


def test_a_ticket_opens_its_meeting_until_end_plus_grace() -> None:
    meeting = uuid.uuid4()
    ticket = bot_tickets.mint(KEY, meeting, END)
    assert bot_tickets.verify(KEY, ticket, meeting, END)
    assert bot_tickets.verify(KEY, ticket, meeting, END + timedelta(minutes=29))
    assert not bot_tickets.verify(KEY, ticket, meeting, END + timedelta(minutes=31))


def test_a_ticket_opens_no_other_meeting_and_resists_tampering() -> None:
    meeting = uuid.uuid4()
    ticket = bot_tickets.mint(KEY, meeting, END)
    assert not bot_tickets.verify(KEY, ticket, uuid.uuid4(), END)
    raw_id, expires, mac = ticket.split(".")
    later = f"{raw_id}.{int(expires) + 3600}.{mac}"
    assert not bot_tickets.verify(KEY, later, meeting, END)
    other_key = bot_tickets.key_of("another-installation")
    assert not bot_tickets.verify(other_key, ticket, meeting, END)


def test_malformed_tickets_are_refused() -> None:
    meeting = uuid.uuid4()
    for bad in (None, "", "x", "a.b.c", f"{meeting}.soon.abc", "." * 500, f"{meeting}.1.2.3"):
        assert not bot_tickets.verify(KEY, bad, meeting, END)
