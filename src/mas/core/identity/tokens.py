"""Issuing token pairs: a refresh session row and a short access token bound to it."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

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
        *,
        issued_at: datetime | None = None,
    ) -> str:
        """A signed access token. One bound to a session takes its ``jti`` from the session
        id, so minting it again with the same ``issued_at`` gives the same bytes."""
        now = int((issued_at or self._clock.now()).timestamp())
        jti = uuid.uuid5(session_id, "access").hex if session_id else uuid.uuid4().hex
        return self._codec.encode(
            AccessTokenClaims(
                sub=str(user.id),
                role=user.role.value,
                plt=platform.value,
                tv=user.token_version,
                sid=str(session_id) if session_id else None,
                jti=jti,
                amr=AMR[method],
                act=str(actor) if actor else None,
                iat=now,
                exp=now + self.access_ttl_s,
            )
        )

    def new_session(
        self, user: User, method: AuthMethod, info: RequestInfo
    ) -> tuple[RefreshSession, str]:
        """A new sign-in: a refresh session and its opaque token (the row keeps its SHA-256)."""
        token = self._secrets.random_token(32)
        session_id = uuid7()
        return self._session(user.id, session_id, session_id, method, info, token), token

    def successor(
        self, rotated: RefreshSession, rotated_token: str, info: RequestInfo
    ) -> tuple[RefreshSession, str]:
        """The next session of ``rotated``'s sign-in. Its token is derived from the rotated
        one (``Secrets.successor_token``): it can be recomputed, so it is never stored."""
        token = self._secrets.successor_token(rotated_token)
        here = RequestInfo(platform=rotated.platform, ip=info.ip, user_agent=info.user_agent)
        session = self._session(
            rotated.user_id, uuid7(), rotated.family_id, rotated.auth_method, here, token
        )
        return session, token

    def _session(
        self,
        user_id: uuid.UUID,
        session_id: uuid.UUID,
        family_id: uuid.UUID,
        method: AuthMethod,
        info: RequestInfo,
        token: str,
    ) -> RefreshSession:
        now = self._clock.now()
        return RefreshSession(
            id=session_id,
            user_id=user_id,
            token_hash=self._secrets.digest(token),
            family_id=family_id,
            platform=info.platform,
            auth_method=method,
            created_at=now,
            expires_at=now + timedelta(seconds=self._refresh_ttl_s),
            ip=info.ip,
            user_agent=(info.user_agent or "")[:500] or None,
        )

    def pair(self, user: User, session: RefreshSession, refresh_token: str) -> TokenPair:
        """The pair of a session; the same session and user always give the same pair."""
        return TokenPair(
            access_token=self.access_token(
                user,
                session.platform,
                session.auth_method,
                session.id,
                issued_at=session.created_at,
            ),
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
