"""Issuing token pairs: a refresh session row and a short access token bound to it."""

from __future__ import annotations

import uuid
from datetime import timedelta

import msgspec

from mas.core.identity.model import AMR, AuthMethod, RefreshSession, User
from mas.core.identity.policy import Platform
from mas.core.identity.ports import AccessTokenClaims, Secrets, SessionRepository, TokenCodec
from mas.core.platform.ids import uuid7
from mas.core.platform.ports.clock import Clock


class TokenPair(msgspec.Struct, frozen=True, kw_only=True):
    access_token: str
    refresh_token: str | None
    token_type: str = "Bearer"
    expires_in: int
    session_id: uuid.UUID | None = None


class RequestInfo(msgspec.Struct, frozen=True, kw_only=True):
    """Who is asking, as far as the transport knows."""

    platform: Platform = Platform.MY_ANALYTICS_SCHOOL
    ip: str | None = None
    user_agent: str | None = None


class TokenIssuer:
    def __init__(
        self,
        codec: TokenCodec,
        secrets: Secrets,
        clock: Clock,
        access_ttl_s: int,
        refresh_ttl_s: int,
    ) -> None:
        self._codec = codec
        self._secrets = secrets
        self._clock = clock
        self.access_ttl_s = access_ttl_s
        self._refresh_ttl_s = refresh_ttl_s

    def access_token(
        self,
        user: User,
        platform: Platform,
        method: AuthMethod,
        session_id: uuid.UUID | None,
        actor: uuid.UUID | None = None,
    ) -> str:
        now = int(self._clock.now().timestamp())
        return self._codec.encode(
            AccessTokenClaims(
                sub=str(user.id),
                role=user.role.value,
                plt=platform.value,
                tv=user.token_version,
                sid=str(session_id) if session_id else None,
                jti=uuid.uuid4().hex,
                amr=AMR[method],
                act=str(actor) if actor else None,
                iat=now,
                exp=now + self.access_ttl_s,
            )
        )

    def new_session(
        self,
        user: User,
        method: AuthMethod,
        info: RequestInfo,
        family_id: uuid.UUID | None = None,
    ) -> tuple[RefreshSession, str]:
        """A refresh session and its opaque token (the row keeps only the token's SHA-256)."""
        now = self._clock.now()
        token = self._secrets.random_token(32)
        session_id = uuid7()
        session = RefreshSession(
            id=session_id,
            user_id=user.id,
            token_hash=self._secrets.digest(token),
            family_id=family_id or session_id,
            platform=info.platform,
            auth_method=method,
            created_at=now,
            expires_at=now + timedelta(seconds=self._refresh_ttl_s),
            ip=info.ip,
            user_agent=(info.user_agent or "")[:500] or None,
        )
        return session, token

    def pair(self, user: User, session: RefreshSession, refresh_token: str) -> TokenPair:
        return TokenPair(
            access_token=self.access_token(user, session.platform, session.auth_method, session.id),
            refresh_token=refresh_token,
            expires_in=self.access_ttl_s,
            session_id=session.id,
        )

    async def open_session(
        self, sessions: SessionRepository, user: User, method: AuthMethod, info: RequestInfo
    ) -> TokenPair:
        """Save a new refresh session (in the caller's unit of work) and hand out its pair."""
        session, token = self.new_session(user, method, info)
        await sessions.add(session)
        return self.pair(user, session, token)
