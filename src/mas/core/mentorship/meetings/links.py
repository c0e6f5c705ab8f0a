"""The one-click approve / reject links of the booking mail.

A link's token is an HMAC-SHA256 over (slot, action, nonce) with the installation's secret.
The nonce lives on the slot while it waits for a decision and is cleared by any decision, so
a link works once and never after the mentor decided in the app; it also dies at the slot's
start. Nothing else is stored: a forged or stale token simply does not match.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid

from mas.core.mentorship.meetings.model import EmailAction


def new_nonce() -> str:
    return secrets.token_hex(16)


def sign(secret: bytes, slot_id: uuid.UUID, action: EmailAction, nonce: str) -> str:
    message = f"{slot_id}:{action.value}:{nonce}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def verify(
    secret: bytes, slot_id: uuid.UUID, action: EmailAction, nonce: str | None, token: str
) -> bool:
    if nonce is None:
        return False
    return hmac.compare_digest(sign(secret, slot_id, action, nonce), token)


def action_url(base_url: str, slot_id: uuid.UUID, action: EmailAction, token: str) -> str:
    path = f"/api/mentors/meetings/{slot_id}/email-action"
    return f"{base_url.rstrip('/')}{path}?action={action.value}&token={token}"
