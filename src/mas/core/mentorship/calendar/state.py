"""The OAuth ``state`` of a calendar connection: whose calendar it is, signed and short-lived.

Google hands the state back on the callback untouched; the callback trusts nothing else to
know whose tokens it is storing. ``<owner>.<expiry>.<nonce>.<mac>``, the owner being a user id
or ``platform`` (an ADMIN connecting the platform's account), the MAC an HMAC-SHA256 of the
rest with a key of the installation's. Nothing is stored: a tampered, foreign or stale state
simply does not verify.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import datetime

PLATFORM = "platform"


def _mac(secret: bytes, body: str) -> str:
    return hmac.new(secret, f"mas.calendar.state:{body}".encode(), hashlib.sha256).hexdigest()


def sign(secret: bytes, owner: uuid.UUID | None, expires_at: datetime) -> str:
    body = f"{owner or PLATFORM}.{int(expires_at.timestamp())}.{secrets.token_hex(8)}"
    return f"{body}.{_mac(secret, body)}"


def verify(secret: bytes, state: str, now: datetime) -> tuple[bool, uuid.UUID | None]:
    """``(valid, owner)``; the owner ``None`` is the platform's account."""
    parts = state.split(".")
    if len(parts) != 4:
        return False, None
    owner, expiry, _, mac = parts
    body = ".".join(parts[:3])
    if not hmac.compare_digest(_mac(secret, body), mac):
        return False, None
    if not expiry.isdigit() or int(expiry) <= now.timestamp():
        return False, None
    if owner == PLATFORM:
        return True, None
    try:
        return True, uuid.UUID(owner)
    except ValueError:
        return False, None
