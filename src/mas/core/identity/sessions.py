"""Refresh sessions: rotation (a reused token ends its whole sign-in), sign-out, the list.

Each sign-in is a family of refresh tokens; a refresh replaces the token with the next of its
family. A token presented after it was replaced can only be a copy, so the family is revoked.
"""

from __future__ import annotations

import uuid

import msgspec

from mas.core.identity.access import AccessGuard
from mas.core.identity.audit import record_audit
from mas.core.identity.lookup import existing_user
from mas.core.identity.model import AuditKind, AuthMethod, RefreshSession, RevokeReason
from mas.core.identity.policy import Platform
from mas.core.identity.ports import IdentityUnitOfWork, Secrets
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


class Sessions:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory[IdentityUnitOfWork],
        clock: Clock,
        secrets: Secrets,
        issuer: TokenIssuer,
        guard: AccessGuard,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._secrets = secrets
        self._issuer = issuer
        self._guard = guard

    async def refresh(self, refresh_token: str, info: RequestInfo) -> TokenPair:
        now = self._clock.now()
        async with self._uow() as uow:
            session = await uow.sessions.by_hash(self._secrets.digest(refresh_token))
            if session is None:
                raise Unauthorized("unknown refresh token", code="invalid_refresh_token")
            rotated = False
            if session.revoked_at is None:
                if session.expires_at <= now:
                    raise Unauthorized("the refresh token has expired", code="refresh_expired")
                user = await existing_user(uow, session.user_id)
                if user.is_blocked or user.is_deleted:
                    raise Unauthorized("this account cannot sign in", code="account_blocked")
                fresh, token = self._issuer.new_session(
                    user,
                    session.auth_method,
                    RequestInfo(platform=session.platform, ip=info.ip, user_agent=info.user_agent),
                    family_id=session.family_id,
                )
                await uow.sessions.add(fresh)
                rotated = await uow.sessions.rotate(session.id, fresh.id, now)
                if rotated:
                    await uow.commit()
        if not rotated:
            # Presented again after it was used (or lost a race with a concurrent refresh of
            # the same token): either way it is reuse, and the whole sign-in ends.
            await self._revoke_reused(session, info)
            raise Unauthorized(
                "this refresh token was already used; every session of this sign-in is now closed",
                code="refresh_reused",
            )
        await self._guard.end_sessions([session.id])
        return self._issuer.pair(user, fresh, token)

    async def _revoke_reused(self, session: RefreshSession, info: RequestInfo) -> None:
        async with self._uow() as uow:
            revoked = await uow.sessions.revoke_family(
                session.family_id, RevokeReason.REUSE_DETECTED, self._clock.now()
            )
            await record_audit(
                uow,
                AuditKind.REFRESH_REUSE,
                self._clock.now(),
                target=session.user_id,
                info=info,
                detail={"family": str(session.family_id)},
            )
            await uow.commit()
        await self._guard.end_sessions([*revoked, session.id])

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
