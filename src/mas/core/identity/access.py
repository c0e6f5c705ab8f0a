"""Turning an access token into a ``Caller`` without a database read per request.

The user (role, token version, blocked, deleted, page keys, profile) is cached for 30 s and
dropped whenever one of them changes. A logged-out session is marked in the cache for the
lifetime of an access token. Several processes share one cache (the settings refuse a
process-local one for them), so a block, a role change or a logout is refused on the next
request everywhere.
"""

from __future__ import annotations

import uuid

import msgspec

from mas.core.identity.model import User, UserSnapshot, snapshot_of
from mas.core.identity.policy import Caller, Platform
from mas.core.identity.ports import IdentityUnitOfWork, TokenCodec
from mas.core.platform.errors import Unauthorized
from mas.core.platform.ports.cache import Cache
from mas.core.platform.ports.uow import UnitOfWorkFactory
from mas.core.platform.single_flight import SingleFlight

SNAPSHOT_TTL_S = 30
REDACTED = "*"


def snapshot_key(user_id: uuid.UUID) -> str:
    return f"auth:user:{user_id}"


def revoked_session_key(session_id: uuid.UUID) -> str:
    return f"auth:sid-revoked:{session_id}"


class AccessGuard:
    def __init__(
        self,
        codec: TokenCodec,
        cache: Cache,
        uow: UnitOfWorkFactory[IdentityUnitOfWork],
        access_ttl_s: int,
    ) -> None:
        self._codec = codec
        self._cache = cache
        self._uow = uow
        self._access_ttl_s = access_ttl_s
        self._loads: SingleFlight[uuid.UUID, bytes | None] = SingleFlight()

    async def authenticate(self, token: str) -> Caller:
        claims = self._codec.decode(token)
        try:
            user_id = uuid.UUID(claims.sub)
            platform = Platform(claims.plt)
            session_id = uuid.UUID(claims.sid) if claims.sid else None
            actor = uuid.UUID(claims.act) if claims.act else None
        except ValueError:
            raise Unauthorized("the access token is not valid", code="invalid_token") from None
        snapshot = await self.snapshot(user_id)
        if snapshot is None or snapshot.deleted:
            raise Unauthorized("this account no longer exists", code="account_gone")
        if snapshot.blocked:
            raise Unauthorized("this account is blocked", code="account_blocked")
        if snapshot.token_version != claims.tv:
            raise Unauthorized("this token was revoked; sign in again", code="token_revoked")
        if session_id and await self._cache.get(revoked_session_key(session_id)) is not None:
            raise Unauthorized("this session has ended; sign in again", code="session_revoked")
        return Caller(
            user_id=user_id,
            role=snapshot.role,
            platform=platform,
            session_id=session_id,
            token_version=claims.tv,
            is_super_mentor=snapshot.is_super_mentor,
            page_permissions=frozenset(snapshot.page_permissions),
            auth_method=claims.amr,
            impersonated_by=actor,
        )

    async def snapshot(self, user_id: uuid.UUID) -> UserSnapshot | None:
        user = await self.user(user_id)
        return snapshot_of(user) if user is not None else None

    async def user(self, user_id: uuid.UUID) -> User | None:
        """The account as of at most 30 s ago (without its password hash), cached. Requests
        that miss together share one read (each decodes its own copy)."""
        cached = await self._cache.get(snapshot_key(user_id))
        if cached is None:
            cached = await self._loads.run(user_id, lambda: self._load(user_id))
        return None if cached is None else msgspec.json.decode(cached, type=User)

    async def _load(self, user_id: uuid.UUID) -> bytes | None:
        async with self._uow() as uow:
            user = await uow.users.get(user_id)
        if user is None:
            return None
        if user.password_hash is not None:
            user.password_hash = REDACTED  # the hash never enters the cache; only that one exists
        encoded = msgspec.json.encode(user)
        await self._cache.set(snapshot_key(user_id), encoded, SNAPSHOT_TTL_S)
        return encoded

    async def forget(self, user_id: uuid.UUID) -> None:
        """Drop the cached snapshot after a change to the user."""
        self._loads.forget(user_id)
        await self._cache.delete(snapshot_key(user_id))

    async def end_sessions(self, session_ids: list[uuid.UUID]) -> None:
        for session_id in session_ids:
            await self._cache.set(revoked_session_key(session_id), b"1", self._access_ttl_s)
