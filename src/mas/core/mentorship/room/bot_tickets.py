"""The recording bot's ticket (architecture-original W10, mentorship.md ``bot-info``).

A bot is not a user: it holds a ticket minted when a recording starts, good for one meeting
until the meeting's end + 30 minutes. The ticket is ``<meeting id>.<expiry>.<mac>``, the MAC an
HMAC-SHA256 over the first two parts with a key derived for this purpose only, so nothing is
stored and a ticket for one meeting opens no other. ``verify`` answers only yes or no: the
routes that take a ticket answer 404 to any refusal, so a ticket reveals no meeting.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import datetime, timedelta

GRACE = timedelta(minutes=30)
"""A bot ticket lasts until the meeting's end plus this."""

MAX_LENGTH = 200
"""Longer strings are not tickets (routes bound the query parameter to this)."""


def key_of(installation_secret: str) -> bytes:
    """The bot-ticket key, derived from the installation's secret."""
    return hashlib.sha256(b"mas.mentorship.bot_ticket:" + installation_secret.encode()).digest()


def _mac(key: bytes, meeting_id: uuid.UUID, expires: int) -> str:
    return hmac.new(key, f"{meeting_id}.{expires}".encode(), hashlib.sha256).hexdigest()


def mint(key: bytes, meeting_id: uuid.UUID, meeting_end: datetime) -> str:
    """A ticket for ``meeting_id`` valid until ``meeting_end`` + ``GRACE``."""
    expires = int((meeting_end + GRACE).timestamp())
    return f"{meeting_id}.{expires}.{_mac(key, meeting_id, expires)}"


def verify(key: bytes, ticket: str | None, meeting_id: uuid.UUID, now: datetime) -> bool:
    """Whether ``ticket`` was minted for ``meeting_id`` and has not expired at ``now``."""
    if not ticket or len(ticket) > MAX_LENGTH:
        return False
    parts = ticket.split(".")
    if len(parts) != 3:
        return False
    raw_id, raw_expires, mac = parts
    try:
        minted_for = uuid.UUID(raw_id)
        expires = int(raw_expires)
    except ValueError:
        return False
    if minted_for != meeting_id or expires < now.timestamp():
        return False
    return hmac.compare_digest(_mac(key, minted_for, expires), mac)
