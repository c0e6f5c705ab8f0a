"""Realtime tickets: how a WebSocket proves who opens it.

A browser cannot set an ``Authorization`` header on a WebSocket, and a bearer token in a URL
ends up in logs. So an authenticated ``POST /api/realtime/tickets`` hands out a random ticket,
bound to the user and to one purpose and resource (``meeting`` + a slot id), that lives 60 s
and opens one socket. Tickets sit in the shared cache (hashed), so any process can redeem a
ticket another issued; ``add_if_absent`` on a "used" key makes redemption single-use across
processes, not just on one event loop.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Annotated

import msgspec

from mas.core.platform.errors import Unauthorized
from mas.core.platform.ports.cache import Cache
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ratelimit import RateLimiter

TICKET_TTL_S = 60
TICKETS_PER_MINUTE = 30
"""Per user: a client reconnecting now and then needs a few; a flood would fill the cache."""
PURPOSE_PATTERN = r"^[a-z][a-z0-9_.-]{0,31}$"
Purpose = Annotated[str, msgspec.Meta(pattern=PURPOSE_PATTERN, max_length=32)]
ResourceId = Annotated[str, msgspec.Meta(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")]


class Ticket(msgspec.Struct, frozen=True):
    ticket: str
    expires_at: datetime


class _Grant(msgspec.Struct, frozen=True):
    user_id: uuid.UUID
    purpose: str
    resource_id: str
    expires_at: datetime


class InvalidTicket(Unauthorized):
    code = "invalid_ticket"


class RealtimeTickets:
    def __init__(
        self,
        cache: Cache,
        clock: Clock,
        *,
        ttl_s: int = TICKET_TTL_S,
        limiter: RateLimiter | None = None,
    ) -> None:
        self._cache = cache
        self._clock = clock
        self._ttl_s = ttl_s
        self._limiter = limiter

    async def issue(self, user_id: uuid.UUID, purpose: str, resource_id: str) -> Ticket:
        """A new ticket; ``RateLimited`` past ``TICKETS_PER_MINUTE`` for this user."""
        if self._limiter is not None:
            await self._limiter.check(
                f"rt-ticket:{user_id}", TICKETS_PER_MINUTE, 60, detail="Too many realtime tickets"
            )
        ticket = secrets.token_urlsafe(32)
        expires_at = self._clock.now() + timedelta(seconds=self._ttl_s)
        grant = _Grant(user_id, purpose, resource_id, expires_at)
        await self._cache.set(_key(ticket), msgspec.json.encode(grant), self._ttl_s)
        return Ticket(ticket, expires_at)

    async def redeem(self, ticket: str, purpose: str, resource_id: str) -> uuid.UUID:
        """The user the ticket was issued to; ``InvalidTicket`` when it is unknown, expired,
        already used, or bound to another purpose or resource. Any redemption uses it up."""
        if not ticket or len(ticket) > 128:
            raise InvalidTicket("the ticket is not valid")
        key = _key(ticket)
        raw = await self._cache.get(key)
        if raw is None:
            raise InvalidTicket("the ticket is unknown, expired or already used")
        # The first redeemer on any process wins; the ticket is then gone for everyone.
        if not await self._cache.add_if_absent(f"{key}:used", b"1", self._ttl_s):
            raise InvalidTicket("the ticket is unknown, expired or already used")
        await self._cache.delete(key)
        grant = msgspec.json.decode(raw, type=_Grant)
        if grant.expires_at <= self._clock.now():
            raise InvalidTicket("the ticket has expired")
        if grant.purpose != purpose or grant.resource_id != resource_id:
            raise InvalidTicket("the ticket was issued for something else")
        return grant.user_id


def _key(ticket: str) -> str:
    # Hashed: whoever can read the cache cannot open sockets with what it finds there.
    return "rt:ticket:" + hashlib.sha256(ticket.encode()).hexdigest()
