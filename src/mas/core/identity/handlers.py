"""What runs identity's tasks."""

from __future__ import annotations

from typing import Any

from mas.core.identity.services import IdentityServices
from mas.core.identity.tasks import PURGE_EXPIRED
from mas.core.platform.tasking import Handler, NoArgs


async def purge_expired(identity: IdentityServices, _: NoArgs) -> None:
    """Delete old one-time codes, long-expired refresh tokens and idle sign-in failure counts."""
    await identity.housekeeping.purge_expired()


HANDLERS: list[Handler[IdentityServices, Any]] = [Handler(PURGE_EXPIRED, purge_expired)]
