"""Refresh sessions: rotation (a reused token ends its whole sign-in), sign-out, the list.

Each sign-in is a family of refresh tokens; a refresh replaces the token with the next of its
family. A token presented after it was replaced is normally a copy, so the family is revoked —
except within the reuse interval (``reuse_interval_s``, 30 s by default): two tabs refreshing
with the same token at once are one user, not a thief. The successor token is derived from the
presented one with the server key (``Secrets.successor_token``) and the access token from the
successor session (its id and creation time), so a refresh repeated within the interval gets
the very pair the first one got, while nothing but digests is stored. The presented row is
locked while it is rotated (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite runs one writer at a
time), and the rotation itself is conditional, so only one refresh ever rotates a token.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import msgspec

from mas.core.identity.access import AccessGuard
from mas.core.identity.audit import record_audit
from mas.core.identity.lookup import existing_user
from mas.core.identity.model import AuditKind, AuthMethod, RefreshSession, RevokeReason, User
from mas.core.identity.policy import Platform
from mas.core.identity.ports import IdentityUnitOfWork, Secrets
from mas.core.identity.secrets import same
from mas.core.identity.tokens import RequestInfo, TokenIssuer, TokenPair
from mas.core.platform.errors import NotFound, Unauthorized
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import UnitOfWorkFactory


class Session(msgspec.Struct, frozen=True):
    id: uuid.UUID
    platform: Platform
    auth_method: AuthMethod
    created_at: str
    last_used_at: str | None
    ip: str | None
    user_agent: str | None
    current: bool


class _LostRace(Exception):
    """A concurrent refresh rotated the token between our read and our update."""


class Sessions:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory[IdentityUnitOfWork],
        clock: Clock,
        secrets: Secrets,
        issuer: TokenIssuer,
        guard: AccessGuard,
        reuse_interval_s: int = 30,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._secrets = secrets
        self._issuer = issuer
        self._guard = guard
        self._reuse_interval = timedelta(seconds=reuse_interval_s)

    async def refresh(self, refresh_token: str, info: RequestInfo) -> TokenPair:
        try:
            return await self._exchange(refresh_token, info)
        except _LostRace:
            # Only where the row lock is not taken (SQLite reads outside the write lock):
            # the other refresh has committed, so this time the token reads as rotated.
            return await self._exchange(refresh_token, info)

    async def _exchange(self, refresh_token: str, info: RequestInfo) -> TokenPair:
        now = self._clock.now()
        async with self._uow() as uow:
            session = await uow.sessions.by_hash(
                self._secrets.digest(refresh_token), for_update=True
            )
            if session is None:
                raise Unauthorized("unknown refresh token", code="invalid_refresh_token")
            if session.revoked_at is None:
                if session.expires_at <= now:
                    raise Unauthorized("the refresh token has expired", code="refresh_expired")
                user = await _may_refresh(uow, session.user_id)
                fresh, token = self._issuer.successor(session, refresh_token, info)
                if not await uow.sessions.rotate(session.id, fresh.id, now):
                    raise _LostRace
                await uow.sessions.add(fresh)
                await uow.commit()
                await self._guard.end_sessions([session.id])
                return self._issuer.pair(user, fresh, token)
            replayed = await self._replay(uow, session, refresh_token)
            if replayed is not None:
                return replayed
            revoked = await uow.sessions.revoke_family(
                session.family_id, RevokeReason.REUSE_DETECTED, now
            )
            await record_audit(
                uow,
                AuditKind.REFRESH_REUSE,
                now,
                target=session.user_id,
                info=info,
                detail={"family": str(session.family_id)},
            )
            await uow.commit()
        await self._guard.end_sessions([*revoked, session.id])
        raise Unauthorized(
            "this refresh token was already used; every session of this sign-in is now closed",
            code="refresh_reused",
        )

    async def _replay(
        self, uow: IdentityUnitOfWork, rotated: RefreshSession, refresh_token: str
    ) -> TokenPair | None:
        """The pair the first refresh of ``rotated`` got, if it is asked for again within the
        reuse interval and that pair's session is still live; None means reuse."""
        now = self._clock.now()
        if (
            rotated.revoked_reason is not RevokeReason.ROTATED
            or rotated.revoked_at is None
            or rotated.replaced_by_id is None
            or now - rotated.revoked_at >= self._reuse_interval
        ):
            return None
        fresh = await uow.sessions.get(rotated.replaced_by_id)
        token = self._secrets.successor_token(refresh_token)
        if (
            fresh is None
            or not fresh.is_active(now)
            or not same(fresh.token_hash, self._secrets.digest(token))
        ):
            return None
        user = await _may_refresh(uow, fresh.user_id)
        return self._issuer.pair(user, fresh, token)

    async def logout(self, user_id: uuid.UUID, session_id: uuid.UUID | None) -> None:
        """End the sign-in this session belongs to (nothing when it is not the user's)."""
        if session_id is None:
            return
        async with self._uow() as uow:
            session = await uow.sessions.get(session_id)
            if session is None or session.user_id != user_id:
                return
            revoked = await uow.sessions.revoke_family(
                session.family_id, RevokeReason.LOGOUT, self._clock.now()
            )
            await record_audit(
                uow, AuditKind.LOGOUT, self._clock.now(), target=user_id, actor=user_id
            )
            await uow.commit()
        await self._guard.end_sessions([*revoked, session_id])

    async def logout_all(self, user_id: uuid.UUID) -> None:
        """End every session and every access token of the user."""
        async with self._uow() as uow:
            user = await existing_user(uow, user_id)
            revoked = await uow.sessions.revoke_user(
                user_id, RevokeReason.LOGOUT, self._clock.now()
            )
            user.revoke_tokens()
            await uow.users.save(user)
            await record_audit(
                uow,
                AuditKind.LOGOUT,
                self._clock.now(),
                target=user_id,
                actor=user_id,
                detail={"all": True},
            )
            await uow.commit()
        await self._guard.end_sessions(revoked)
        await self._guard.forget(user_id)

    async def active(self, user_id: uuid.UUID, current: uuid.UUID | None) -> list[Session]:
        """The user's live sessions, newest first; ``current`` marks the caller's own."""
        async with self._uow() as uow:
            found = await uow.sessions.active_for_user(user_id, self._clock.now())
        return [_session_view(s, current) for s in found]

    async def revoke(self, user_id: uuid.UUID, session_id: uuid.UUID) -> None:
        """End one of the user's sign-ins (``NotFound`` when it is not theirs or already over)."""
        async with self._uow() as uow:
            session = await uow.sessions.get(session_id)
            if session is None or session.user_id != user_id or session.revoked_at is not None:
                raise NotFound("no such session", code="session_not_found")
            revoked = await uow.sessions.revoke_family(
                session.family_id, RevokeReason.LOGOUT, self._clock.now()
            )
            await uow.commit()
        await self._guard.end_sessions([*revoked, session_id])


async def _may_refresh(uow: IdentityUnitOfWork, user_id: uuid.UUID) -> User:
    user = await uow.users.get(user_id)
    if user is None or user.is_blocked or user.is_deleted:
        raise Unauthorized("this account cannot sign in", code="account_blocked")
    return user


def _session_view(session: RefreshSession, current: uuid.UUID | None) -> Session:
    return Session(
        id=session.id,
        platform=session.platform,
        auth_method=session.auth_method,
        created_at=session.created_at.isoformat(),
        last_used_at=session.last_used_at.isoformat() if session.last_used_at else None,
        ip=session.ip,
        user_agent=session.user_agent,
        current=session.id == current,
    )
