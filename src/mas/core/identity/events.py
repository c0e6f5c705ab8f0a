"""Identity's domain events: facts other domains subscribe to (relayed after commit)."""

from __future__ import annotations

import uuid

from mas.core.platform.events import DomainEvent


class UserSignedUp(DomainEvent, frozen=True, kw_only=True):
    """An account was created (sign-up, Google sign-in, an admin or the CLI); recorded in the
    creating transaction. The tokens domain opens the account's wallet on it."""

    subject = "mas.identity.user_signed_up"
    user_id: uuid.UUID
    role: str
